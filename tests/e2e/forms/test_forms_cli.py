"""`workbench validate` and `workbench test` in subprocesses on the form tasks: the restaurant
sample, and Rasa's forms_bot imported with warnings for what does not map."""

from __future__ import annotations

import pytest
from support import FIXTURES, copy_sample
from support.cli import run_cli


@pytest.mark.parametrize("command", ["validate", "test"])
def test_workbench_validate_and_test_pass_on_the_restaurant_sample(tmp_path, command):
    out = run_cli(command, str(copy_sample("restaurant", tmp_path)), timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr


def test_validate_of_rasa_forms_bot_exits_0_and_prints_the_warnings():
    out = run_cli("validate", str(FIXTURES / "rasa_forms_bot"))
    assert out.returncode == 0, out.stderr
    assert "ok rasa_forms_bot" in out.stdout
    assert "warning:" in out.stderr and "RestaurantPlan is Python" in out.stderr
