"""Filter terms: how a document's ``fields`` become exact-match terms, the same for every backend.

A value is spelt as JSON, so ``True``, ``"true"``, ``1`` and ``"1"`` are four different values;
a list field matches when any element does; nested objects are kept but cannot be filtered on.
"""

from __future__ import annotations

import json
from typing import Any


def filter_value(value: Any) -> str:
    """One scalar as filter text, spelt as JSON."""
    return json.dumps(value, default=str, ensure_ascii=False)


def filter_terms(fields: dict[str, Any], sep: str) -> list[str]:
    """``key{sep}value`` for every filterable value of ``fields``."""
    terms = []
    for key, value in fields.items():
        values = value if isinstance(value, (list, tuple, set, frozenset)) else [value]
        for v in values:
            if isinstance(v, dict):
                continue  # nested objects are kept in ``fields`` but cannot be filtered on
            terms.append(f"{key}{sep}{filter_value(v)}")
    return terms
