"""CSV cells a spreadsheet will not run: a cell that begins with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return is read as a formula by Excel, LibreOffice and Google Sheets
(``=HYPERLINK(...)`` in a person's message becomes a link that leaks data when clicked).
Every CSV export passes its cells through :func:`neutralise`, which puts a ``'`` in front
of such a cell, unless the person asks for the raw text (``--raw``) to import it again.
"""

from __future__ import annotations

from collections.abc import Iterable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """``cell`` with a leading ``'`` when a spreadsheet would take it for a formula."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def row(cells: Iterable[object], raw: bool = False) -> list[str]:
    """A CSV row's cells as text, neutralised unless ``raw``."""
    texts = ["" if c is None else str(c) for c in cells]
    return texts if raw else [neutralise(c) for c in texts]
