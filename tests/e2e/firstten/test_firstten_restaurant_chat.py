"""Issue 14, point 12, as the issue tells it: the restaurant sample piped through `workbench chat`."""

from __future__ import annotations

from support import copy_sample
from support.cli import run_cli


def test_a_correction_mid_form_ends_with_the_location_asked_again(tmp_path):
    task = copy_sample("restaurant", tmp_path)
    said = "I want to book a table for two tonight\ncheap\nitalian\nactually we will be 4 people\n"
    out = run_cli("chat", str(task), input=said, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = [line for line in out.stdout.splitlines() if line.startswith("booking: ")]
    assert lines[-2:] == ["booking: Ok, I've changed the number of people to 4", "booking: Where?"]
    # the booking was not completed with the sentence as its location
    assert "Ok, I have all the information I need now." not in out.stdout


def test_no_after_the_hotel_suggestion_is_understood(tmp_path):
    task = copy_sample("restaurant", tmp_path)
    out = run_cli("chat", str(task), input="I need a hotel\namsterdam\n2030-07-01\n2030-07-03\nno\n", timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == (
        "booking: Alright, I won't book it. Tell me what to change, or ask for another restaurant or hotel."
    )
