"""CSV cells a spreadsheet will not run: a cell that begins with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return is read as a formula by Excel, LibreOffice and Google Sheets
(``=HYPERLINK(...)`` in a person's message becomes a link that leaks data when clicked).
Every CSV export passes its cells through :func:`neutralise`, which puts a ``'`` in front
of such a cell, unless the person asks for the raw text (``--raw``) to import it again.
A plain number (``-1``, ``+2.5``) is left as it is: a spreadsheet reads it as the number.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")


def neutralise(cell: str) -> str:
    """``cell`` with a leading ``'`` when a spreadsheet would take it for a formula."""
    if cell.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def row(cells: Iterable[object], raw: bool = False) -> list[str]:
    """A CSV row's cells as text, neutralised unless ``raw``."""
    texts = ["" if c is None else str(c) for c in cells]
    return texts if raw else [neutralise(c) for c in texts]
