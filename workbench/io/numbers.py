"""Whole numbers from text a file or a person wrote (CSV cells, form fields), within 64 bits.

``int("9" * 5000)`` raises an error about Python's own limits and ``int(float("inf"))``
an OverflowError; :func:`whole_number` turns every such text into a ValueError that
says what was expected, before any costly conversion. The models that store the
number bound it further (a state's ``execution_order`` is a 32-bit integer).
"""

from __future__ import annotations

import math
import re

#: the largest magnitude accepted (SQLite's INTEGER is 64-bit)
MAX_WHOLE = 2**63 - 1
_INTEGER = re.compile(r"[+-]?[0-9]+")
#: the digits of MAX_WHOLE, so that a 5,000-digit literal is refused without converting it
_DIGITS = len(str(MAX_WHOLE))


def _shown(text: str) -> str:
    return repr(text if len(text) <= 24 else text[:24] + "…")


def whole_number(text: str) -> int:
    """``text`` as an integer (``12``, ``-3``, ``1.0``, ``1e3``); raises ValueError saying why not."""
    t = text.strip()
    if _INTEGER.fullmatch(t):
        if len(t.lstrip("+-").lstrip("0")) > _DIGITS or abs(value := int(t)) > MAX_WHOLE:
            raise ValueError(f"the number {_shown(t)} is too large (at most {MAX_WHOLE})")
        return value
    try:
        number = float(t)
    except ValueError:
        raise ValueError(f"expected a whole number, got {_shown(t)}") from None
    if math.isinf(number) or abs(number) > MAX_WHOLE:
        raise ValueError(f"the number {_shown(t)} is too large (at most {MAX_WHOLE})")
    if math.isnan(number) or not number.is_integer():
        raise ValueError(f"expected a whole number, got {_shown(t)}")
    return int(number)
