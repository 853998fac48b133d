"""Export conversations: one JSONL file (a conversation a line) and one JSON file each,
readable by their owner only (``0600``): they hold everything people said."""

from __future__ import annotations

import json
from pathlib import Path

from workbench.store.base import Store
from workbench.store.private import open_private, private_folder, write_private


def export_conversations(store: Store, folder: Path) -> int:
    private_folder(folder)
    per = folder / "conversations"
    private_folder(per)
    n = 0
    tmp = folder / "conversations.jsonl.tmp"
    with open_private(tmp) as out:
        for conv in store.iter_conversations():
            line = json.dumps(conv, ensure_ascii=False, default=str)
            out.write(line + "\n")
            write_private(per / f"{conv['id']}.json", json.dumps(conv, ensure_ascii=False, indent=2, default=str))
            n += 1
    tmp.replace(folder / "conversations.jsonl")  # a reader never sees half a file
    return n
