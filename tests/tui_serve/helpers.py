"""Shared by the serve-screen tests: sample tasks in tmp_path, free ports, people who collect
what they are sent, bounded waits."""

from __future__ import annotations

from pathlib import Path

from support import Person, copy_sample, free_port, wait_for, write_task  # noqa: F401  (shared by this folder's tests)

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "sample_tasks"


BOOM_TASK = """
name: boom
bots:
  fragile: {engine: python, name: Fragile}
worlds:
  talk: {type: bot_chat, bot: fragile}
"""

BOOM_WORLDS = """
from workbench import bot

@bot("Fragile")
class Fragile:
    def observe(self, msg):
        self.text = msg["text"]

    def act(self):
        if self.text == "boom":
            raise RuntimeError("the fragile bot broke")
        return {"text": "fine"}
"""
