"""Export conversations: one JSONL file (a conversation a line) and one JSON file each."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def export_conversations(store: Any, folder: Path) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    per = folder / "conversations"
    per.mkdir(exist_ok=True)
    n = 0
    tmp = folder / "conversations.jsonl.tmp"
    with tmp.open("w", encoding="utf-8") as out:
        for conv in store.iter_conversations():
            line = json.dumps(conv, ensure_ascii=False, default=str)
            out.write(line + "\n")
            (per / f"{conv['id']}.json").write_text(
                json.dumps(conv, ensure_ascii=False, indent=2, default=str), encoding="utf-8"
            )
            n += 1
    tmp.replace(folder / "conversations.jsonl")  # a reader never sees half a file
    return n
