"""Transcript: the messages of a conversation, each selectable to inspect its JSON.

A model bot's reply appears while it is generated (:class:`StreamingItem`): its finished
blocks rendered as Markdown as the deltas come, the block being written as plain text, then
all of it settled on the final, committed message.
"""

from __future__ import annotations

import time
from typing import Any

from rich.markdown import Markdown as RichMarkdown
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label, ListItem, ListView, Static


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


#: seconds between two moves of finished blocks from the plain tail into the Markdown
MARKDOWN_EVERY = 2.0


def stream_of(entry: dict[str, Any]) -> str | None:
    """The stream a message was generated in (a model bot's reply), or None."""
    meta = (entry.get("act") or {}).get("meta")
    stream = meta.get("stream") if isinstance(meta, dict) else None
    return stream if isinstance(stream, str) else None


def _note(entry: dict[str, Any]) -> str:
    """How a generated reply ended, when not simply done."""
    meta = (entry.get("act") or {}).get("meta") or {}
    notes = []
    if meta.get("cancelled"):
        notes.append("stopped")
    if meta.get("error"):
        notes.append(f"failed: {meta['error']}")
    if meta.get("regenerated"):
        notes.append("regenerated")
    return f"  ({', '.join(notes)})" if notes else ""


class StreamingItem(MessageItem):
    """A model bot's reply: its speaker, then its text as Markdown, written as it is generated.

    Finished blocks (up to the last blank line outside a code fence) are rendered as Markdown
    once, each batch in a widget of its own, at most every MARKDOWN_EVERY; what is still being
    written is shown as plain text below them. A render of the growing reply therefore lays
    out only the plain tail, whatever the reply's length. The stored message's text settles
    the last block (or, when it differs from what was streamed, replaces all of it)."""

    def __init__(self, entry: dict[str, Any]) -> None:
        self.entry = entry
        self._label = Label(self._head(), markup=False, classes="msg-who")
        #: the text written so far (deltas, or the final text)
        self.text = str((entry.get("act") or {}).get("text") or "")
        self._blocks_box = Vertical(classes="msg-blocks")
        self._tail = Static("", markup=False, classes="msg-tail")
        #: how much of :attr:`text` is rendered as Markdown, and when that last grew
        self._blocks = 0
        self._moved = 0.0
        ListItem.__init__(self, classes="msg role-bot streamed")

    def compose(self) -> ComposeResult:
        yield self._label
        with self._blocks_box:
            if self.text:
                yield _block(self.text)
        yield self._tail

    def on_mount(self) -> None:
        self._blocks = len(self.text)

    def _head(self) -> Text:
        e = self.entry
        act = e.get("act") or {}
        who = act.get("id") or e.get("agent") or e.get("role")
        head = Text()
        head.append(f"{who}:", style="bold")
        if e.get("streaming"):
            head.append("  ▍ generating… (esc stops)", style="dim")
        else:
            head.append(_note(e), style="dim")
            if e.get("alternative"):
                head.append("  (replaced by a regenerated reply)", style="dim")
        return head

    def _render_text(self) -> Text:
        return self._head()

    @property
    def tail_length(self) -> int:
        """The length of what is shown as plain text (laid out again at every render)."""
        return len(self.text) - self._blocks

    def write(self, delta: str) -> None:
        self.text += delta
        now = time.monotonic()
        if now - self._moved >= MARKDOWN_EVERY:
            cut = _block_end(self.text, self._blocks)
            if cut > self._blocks:
                self._blocks_box.mount(_block(self.text[self._blocks : cut]))
                self._blocks = cut
                self._moved = now
        self._tail.update(self.text[self._blocks :])

    def settle(self, entry: dict[str, Any]) -> None:
        """The committed message: the rest of its text as Markdown (all of it again when it
        differs from what was streamed: a rule masked it, an apology was added)."""
        self.entry = entry
        final = str((entry.get("act") or {}).get("text") or "")
        if final.startswith(self.text[: self._blocks]):
            if final[self._blocks :].strip():
                self._blocks_box.mount(_block(final[self._blocks :]))
        else:
            self._blocks_box.remove_children()
            self._blocks_box.mount(_block(final))
        self.text = final
        self._blocks = len(final)
        self._tail.update("")
        self.set_class(bool((entry.get("act") or {}).get("meta", {}).get("cancelled")), "-cancelled")
        self._label.update(self._head())

    def mark_alternative(self) -> None:
        self.entry["alternative"] = True
        self.add_class("-alternative")
        self._label.update(self._head())


def _block(text: str) -> Static:
    return Static(RichMarkdown(text.strip("\n")), classes="msg-markdown")


def _block_end(text: str, start: int) -> int:
    """Where the finished blocks of ``text[start:]`` end: after its last blank line that is not
    inside a code fence (``start`` when there is none)."""
    cut = text.rfind("\n\n", start)
    while cut >= 0 and text.count("```", 0, cut) % 2:
        cut = text.rfind("\n\n", start, cut)
    return cut + 2 if cut >= 0 else start


class Transcript(ListView):
    """A ListView of :class:`MessageItem`; highlighting one shows it in the inspector."""

    def __init__(self, *args: Any, quick_replies: bool = True, own_label: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, initial_index=None, **kwargs)
        self._by_uid: dict[str, MessageItem] = {}
        #: show each message's quick replies under it (off where they are buttons already)
        self.quick_replies = quick_replies
        #: the label of the person's own messages in their own transcript (None: the message's id)
        self.own_label = own_label
        #: replies being generated: stream id -> their item
        self._streams: dict[str, StreamingItem] = {}

    def add(self, entry: dict[str, Any]) -> MessageItem:
        stream = stream_of(entry)
        item: MessageItem = StreamingItem(entry) if stream else MessageItem(entry, self.quick_replies, self.own_label)
        uid = entry.get("uid")
        if uid:
            self._by_uid[uid] = item
        self.append(item)
        self.scroll_end(animate=False)
        return item

    @property
    def generating(self) -> bool:
        return bool(self._streams)

    def streaming_item(self, stream: str) -> StreamingItem | None:
        return self._streams.get(stream)

    async def stream_delta(self, stream: str, who: str, delta: str) -> None:
        """A piece of the reply ``stream`` (its item is made on the first piece)."""
        item = self._streams.get(stream)
        if item is None:
            item = StreamingItem(
                {"act": {"id": who, "text": "", "meta": {"stream": stream}}, "role": "bot", "streaming": True}
            )
            self._streams[stream] = item
            await self.append(item)
        item.write(delta)
        self.scroll_end(animate=False)

    async def settle(self, entry: dict[str, Any]) -> MessageItem:
        """A committed message: the item its deltas were written to takes it, else it is added."""
        stream = stream_of(entry)
        item = self._streams.pop(stream, None) if stream else None
        if item is None:
            return self.add(entry)
        item.settle(entry)
        uid = entry.get("uid")
        if uid:
            self._by_uid[uid] = item
        if (entry.get("act") or {}).get("meta", {}).get("regenerated"):
            self._mark_replaced(item)
        self.scroll_end(animate=False)
        return item

    def _mark_replaced(self, new: StreamingItem) -> None:
        """The reply a regenerated one replaces: the last earlier generated reply of the same bot."""
        items = list(self.query(StreamingItem))
        agent = new.entry.get("agent")
        for item in reversed(items[: items.index(new)] if new in items else items):
            if item.entry.get("agent") == agent and not item.entry.get("alternative"):
                item.mark_alternative()
                return

    def acknowledge(self, uid: str) -> None:
        item = self._by_uid.get(uid)
        if item is not None:
            item.mark_stored()

    async def reset(self, entries: list[dict[str, Any]] | None = None) -> None:
        self._by_uid.clear()
        self._streams.clear()
        await self.clear()
        for e in entries or []:
            self.add(e)
