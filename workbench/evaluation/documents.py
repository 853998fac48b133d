"""The study's agreement and instructions: HTML, Markdown or text files of the task.

The browser shows HTML in a sandboxed frame (no scripts) and Markdown rendered with raw
HTML disabled; the TUI shows plain text. Files are read within a size limit.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

MAX_DOCUMENT_BYTES = 1 << 20


@dataclass(frozen=True)
class Document:
    #: html | markdown | text
    kind: str
    text: str

    def plain(self) -> str:
        """The document as plain text (tags dropped, entities decoded)."""
        if self.kind != "html":
            return self.text.strip()
        raw = re.sub(r"<(script|style)\b.*?</\1>", "", self.text, flags=re.S | re.I)
        raw = re.sub(r"<br\s*/?>|</p>|</h\d>|</li>|</div>", "\n", raw, flags=re.I)
        raw = html.unescape(re.sub(r"<[^>]+>", "", raw))
        raw = re.sub(r"[ \t]+", " ", raw)
        return re.sub(r"\n\s*\n+", "\n\n", raw).strip()

    def markdown_html(self) -> str:
        """A Markdown or text document as safe HTML (raw HTML in it is shown as text)."""
        if self.kind == "text":
            return "<pre>" + html.escape(self.text) + "</pre>"
        from markdown_it import MarkdownIt

        return MarkdownIt("commonmark", {"html": False}).render(self.text)


def read_document(path: Path) -> Document:
    """The document at ``path``; its kind from the suffix (.html/.htm, .md/.markdown, else text)."""
    with path.open("rb") as fh:
        data = fh.read(MAX_DOCUMENT_BYTES + 1)
    if len(data) > MAX_DOCUMENT_BYTES:
        raise ValueError(f"{path} is larger than {MAX_DOCUMENT_BYTES} bytes")
    text = data.decode("utf-8", errors="replace")
    suffix = path.suffix.lower()
    kind = "html" if suffix in (".html", ".htm") else "markdown" if suffix in (".md", ".markdown") else "text"
    return Document(kind, text)
