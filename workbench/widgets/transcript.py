"""Transcript: the messages of a conversation, each selectable to inspect its JSON."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Label, ListItem, ListView


class MessageItem(ListItem):
    """One message: who said it, the text, quick replies, whether it is stored."""

    def __init__(self, entry: dict[str, Any], quick_replies: bool = True, own_label: str | None = None) -> None:
        self.entry = entry
        self._quick_replies = quick_replies
        self._own_label = own_label
        # kept, not queried: the acknowledgement may arrive before the item is mounted
        self._label = Label(self._render_text(), markup=False)
        super().__init__(self._label, classes=f"msg role-{entry.get('role', 'bot')}")

    def _render_text(self) -> Text:
        e = self.entry
        act = e.get("act") or {}
        who = act.get("id") or e.get("agent") or e.get("role")
        if self._own_label and e.get("role") == "human":
            # the person's own messages, whatever id a world gave them ("Agent", "Person 1")
            who = self._own_label
        text = Text()
        text.append(f"{who}: ", style="bold")
        text.append(str(act.get("text") or ""))
        payload = act.get("payload")
        if isinstance(payload, dict) and payload:
            text.append(f"  [{payload.get('type', 'attachment')}]", style="italic")
        if self._quick_replies and act.get("quick_replies"):
            text.append("\n  " + "  ".join(f"[{q}]" for q in act["quick_replies"]), style="dim")
        if e.get("role") == "human":
            text.append("  ✓" if e.get("stored") else "  …", style="dim")
        return text

    def mark_stored(self) -> None:
        self.entry["stored"] = True
        self._label.update(self._render_text())


class Transcript(ListView):
    """A ListView of :class:`MessageItem`; highlighting one shows it in the inspector."""

    def __init__(self, *args: Any, quick_replies: bool = True, own_label: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, initial_index=None, **kwargs)
        self._by_uid: dict[str, MessageItem] = {}
        #: show each message's quick replies under it (off where they are buttons already)
        self.quick_replies = quick_replies
        #: the label of the person's own messages in their own transcript (None: the message's id)
        self.own_label = own_label

    def add(self, entry: dict[str, Any]) -> MessageItem:
        item = MessageItem(entry, self.quick_replies, self.own_label)
        uid = entry.get("uid")
        if uid:
            self._by_uid[uid] = item
        self.append(item)
        self.scroll_end(animate=False)
        return item

    def acknowledge(self, uid: str) -> None:
        item = self._by_uid.get(uid)
        if item is not None:
            item.mark_stored()

    async def reset(self, entries: list[dict[str, Any]] | None = None) -> None:
        self._by_uid.clear()
        await self.clear()
        for e in entries or []:
            self.add(e)
