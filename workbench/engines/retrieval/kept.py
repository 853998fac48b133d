"""Calibrations kept in the store, so a restart has its thresholds at once.

Kept beside the collection's document set (``derived("calibration")``), one entry per
mode, each naming the examples it was computed on (a store revision or a digest) and
valid only for the settings it was computed with (out-of-scope examples, the fusion's
constants): the same examples make it *fresh* (nothing to redo); other examples leave it
in use until a new one is ready (an edit moves a threshold little).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from workbench.engines.retrieval import fusion
from workbench.engines.retrieval.calibration import Calibration

if TYPE_CHECKING:
    from workbench.store.base import Store

NAME = "calibration"
#: bumped when what a calibration means changes
FORMAT = 3


def settings_key(out_of_scope: Sequence[str]) -> str:
    oos = hashlib.sha1("\x1e".join(out_of_scope).encode("utf-8", "surrogatepass")).hexdigest()
    return f"{FORMAT}:{fusion.VERSION}:{oos}"


def _read(store: Store, collection: str) -> dict[str, Any]:
    found = store.documents(collection).derived(NAME)
    if found is None:
        return {}
    try:
        data = json.loads(found[1])
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def load(store: Store, collection: str, settings: str, examples: str) -> tuple[dict[str, Calibration | None], set[str]]:
    """(mode -> kept calibration, the modes whose calibration is of these very examples)."""
    data = _read(store, collection)
    if data.get("settings") != settings:
        return {}, set()
    found: dict[str, Calibration | None] = {}
    fresh: set[str] = set()
    for mode, entry in (data.get("modes") or {}).items():
        try:
            found[mode] = Calibration(**entry["result"]) if entry.get("result") else None
        except (TypeError, KeyError):
            continue
        if entry.get("examples") == examples:
            fresh.add(mode)
    return found, fresh


def keep(store: Store, collection: str, settings: str, mode: str, examples: str, result: Calibration | None) -> None:
    data = _read(store, collection)
    if data.get("settings") != settings:
        data = {"settings": settings, "modes": {}}
    data.setdefault("modes", {})[mode] = {
        "examples": examples,
        "result": dataclasses.asdict(result) if result is not None else None,
    }
    store.documents(collection).set_derived(NAME, 0, json.dumps(data).encode())
