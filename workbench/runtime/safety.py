"""Safety utilities: personal-information detection, a blocklist and the /report command.

:func:`find` locates card numbers (Luhn-checked), phone numbers, e-mail
addresses, national ids and blocklisted words anywhere in a text.
:class:`Safety` applies a task's ``safety:`` rules (mask, warn or block, per
kind and direction) to every message a :class:`~workbench.runtime.session.Session`
receives or sends, so every channel gets them.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.io.files import DATA_LIMIT, read_text
from workbench.message import Message

log = logging.getLogger(__name__)

#: kinds of findings, in the order they win when two overlap
KINDS = ("card_number", "national_id", "email", "phone", "blocklist")

#: how each kind is named to a person and replaced when masked
LABELS = {
    "card_number": ("a card number", "[card number]"),
    "national_id": ("an id number", "[id number]"),
    "email": ("an e-mail address", "[e-mail]"),
    "phone": ("a phone number", "[phone number]"),
    "blocklist": ("words that are not allowed here", None),  # masked with asterisks
}


@dataclass(frozen=True)
class Finding:
    kind: str
    start: int
    end: int
    text: str


# -- detectors -----------------------------------------------------------------


def luhn_ok(digits: str) -> bool:
    """The Luhn checksum used by card numbers and Canadian SINs."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


# digits with single spaces or hyphens between them, not glued to other digits (+ starts a phone number)
_DIGIT_RUN = re.compile(r"(?<![\d+])\d(?:[ \-]?\d)+(?![\d])")
_GROUP = re.compile(r"\d+")


def _cards(text: str) -> Iterable[Finding]:
    for run in _DIGIT_RUN.finditer(text):
        groups = [(g.start() + run.start(), g.end() + run.start(), g.group()) for g in _GROUP.finditer(run.group())]
        # the whole run, else any stretch of whole groups (a card followed by an expiry year, say)
        n = len(groups)
        found_until = -1
        for i in range(n):
            if groups[i][0] < found_until:
                continue
            digits = ""
            for j in range(i, n):
                digits += groups[j][2]
                if len(digits) > 19:
                    break
                if 13 <= len(digits) and digits[0] in "23456" and luhn_ok(digits):
                    # prefer the longest valid stretch starting here
                    best = j
                    longer = digits
                    for k in range(j + 1, n):
                        longer += groups[k][2]
                        if len(longer) > 19:
                            break
                        if luhn_ok(longer):
                            best = k
                    start, end = groups[i][0], groups[best][1]
                    yield Finding("card_number", start, end, text[start:end])
                    found_until = end
                    break


_SSN = re.compile(r"(?<![\w-])(?!000|666|9\d\d)\d{3}([- ])(?!00)\d{2}\1(?!0000)\d{4}(?![\w-])")
_SIN = re.compile(r"(?<![\w-])[1-79]\d{2}([- ])\d{3}\1\d{3}(?![\w-])")
_NINO = re.compile(
    r"(?<![A-Za-z0-9])(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]"
    r" ?\d{2} ?\d{2} ?\d{2} ?[A-D](?![A-Za-z0-9])"
)


def _national_ids(text: str) -> Iterable[Finding]:
    for m in _SSN.finditer(text):
        yield Finding("national_id", m.start(), m.end(), m.group())
    for m in _SIN.finditer(text):
        if luhn_ok(re.sub(r"\D", "", m.group())):
            yield Finding("national_id", m.start(), m.end(), m.group())
    for m in _NINO.finditer(text):
        yield Finding("national_id", m.start(), m.end(), m.group())


_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}(?![\w-])"
)


def _emails(text: str) -> Iterable[Finding]:
    for m in _EMAIL.finditer(text):
        yield Finding("email", m.start(), m.end(), m.group())


# an optional +country code, then digit groups split by spaces, dots, hyphens or (area code)
_PHONE = re.compile(
    r"(?<![\w+.\-])(?:\+\d{1,3}[ .\-]?)?(?:\(\d{1,5}\)[ .\-]?)?\d{1,14}(?:[ .\-]\d{1,14}){0,5}(?![\w.\-]?\d)"
)
_DATE = re.compile(r"^\d{4}[-.]\d{1,2}[-.]\d{1,2}$|^\d{1,2}[-.]\d{1,2}[-.]\d{2,4}$")
_IPV4 = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")


def _phones(text: str) -> Iterable[Finding]:
    for m in _PHONE.finditer(text):
        s = m.group().rstrip(" .-")
        digits = re.sub(r"\D", "", s)
        if not 8 <= len(digits) <= 15:
            continue
        separators = len(re.findall(r"[ .\-]|\(", s))
        if not (s.startswith("+") or "(" in s or separators >= 2):
            continue  # a bare number: an order number as likely as a phone
        if _DATE.match(s) or _IPV4.match(s):
            continue
        yield Finding("phone", m.start(), m.start() + len(s), s)


def blocklist_pattern(entries: Iterable[str]) -> re.Pattern | None:
    """One case-insensitive pattern of whole words and phrases; ``word*`` matches any ending."""
    parts = []
    for entry in entries:
        entry = entry.strip()
        if not entry or entry.startswith("#"):
            continue
        wildcard = entry.endswith("*")
        words = entry.rstrip("*").split()
        if not words:
            continue
        body = r"\s+".join(re.escape(w) for w in words)
        parts.append(body + (r"\w*" if wildcard else ""))
    if not parts:
        return None
    parts.sort(key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)", re.IGNORECASE)


DETECTORS = {
    "card_number": _cards,
    "national_id": _national_ids,
    "email": _emails,
    "phone": _phones,
}


def find(text: str, kinds: Iterable[str] = KINDS, blocklist: re.Pattern | None = None) -> list[Finding]:
    """Every finding of ``kinds`` in ``text``, left to right, overlaps resolved by :data:`KINDS` order."""
    found: list[Finding] = []
    for kind in KINDS:
        if kind not in kinds:
            continue
        hits: Iterable[Finding]
        if kind == "blocklist":
            hits = (
                (Finding("blocklist", m.start(), m.end(), m.group()) for m in blocklist.finditer(text))
                if blocklist
                else ()
            )
        else:
            hits = DETECTORS[kind](text)
        for f in hits:
            if not any(f.start < g.end and g.start < f.end for g in found):
                found.append(f)
    found.sort(key=lambda f: f.start)
    return found


def mask(text: str, findings: Iterable[Finding]) -> str:
    """``text`` with each finding replaced by its label (asterisks for blocklisted words)."""
    out, at = [], 0
    for f in sorted(findings, key=lambda f: f.start):
        out.append(text[at : f.start])
        label = LABELS[f.kind][1]
        out.append(label if label is not None else "*" * len(f.text))
        at = f.end
    out.append(text[at:])
    return "".join(out)


def describe(kinds: Iterable[str]) -> str:
    """'a card number and a phone number': what was found, for a person."""
    names = [LABELS[k][0] for k in dict.fromkeys(kinds)]
    if len(names) <= 1:
        return names[0] if names else "something not allowed"
    return ", ".join(names[:-1]) + " and " + names[-1]


# -- policy ---------------------------------------------------------------------


@dataclass
class Verdict:
    """What the rules say about one message: ``action`` is pass, mask, warn or block."""

    action: str
    text: str
    findings: list[Finding] = field(default_factory=list)
    warned: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    masked: list[str] = field(default_factory=list)


_RANK = {"pass": 0, "mask": 1, "warn": 2, "block": 3}


class Safety:
    """A task's safety rules, applied by sessions to what people send and receive."""

    def __init__(self, spec: Any = None, root: Path | None = None) -> None:
        from workbench.task.schema import SafetySpec

        self.spec = spec if spec is not None else SafetySpec()
        entries = list(self.spec.blocklist)
        if self.spec.blocklist_file:
            path = Path(self.spec.blocklist_file)
            if root is not None and not path.is_absolute():
                path = root / path
            entries += read_text(path, DATA_LIMIT, "blocklist file").splitlines()
        self.blocklist = blocklist_pattern(entries)
        self.rules = {
            "incoming": self._active(self.spec.incoming),
            "outgoing": self._active(self.spec.outgoing),
        }
        command = (self.spec.report_command or "").strip()
        self.report_command = command.casefold() or None

    def _active(self, rules: Any) -> dict[str, str]:
        active = {k: a for k, a in rules.model_dump().items() if a != "off"}
        if "blocklist" in active and self.blocklist is None:
            del active["blocklist"]
        return active

    @classmethod
    def for_task(cls, task: Any) -> Safety:
        spec = getattr(getattr(task, "spec", None), "safety", None)
        root = getattr(task, "root", None)
        return cls(spec, root)

    # -- pure checks ------------------------------------------------------------
    def check(self, text: str, direction: str) -> Verdict:
        """Apply the ``direction`` (incoming/outgoing) rules to ``text``."""
        rules = self.rules[direction]
        if not rules or not text:
            return Verdict("pass", text)
        findings = find(text, rules, self.blocklist)
        if not findings:
            return Verdict("pass", text)
        v = Verdict("pass", text, findings)
        for f in findings:
            action = rules[f.kind]
            getattr(v, {"mask": "masked", "warn": "warned", "block": "blocked"}[action]).append(f.kind)
            if _RANK[action] > _RANK[v.action]:
                v.action = action
        to_mask = [f for f in findings if rules[f.kind] == "mask"]
        if to_mask:
            v.text = mask(text, to_mask)
        return v

    def is_report(self, text: str) -> str | None:
        """The reason given after the report command, or None when ``text`` is not one."""
        if self.report_command is None:
            return None
        stripped = text.strip()
        head = stripped[: len(self.report_command)]
        if head.casefold() != self.report_command:
            return None
        rest = stripped[len(self.report_command) :]
        if rest and not rest[0].isspace():
            return None
        return rest.strip()

    # -- the session hooks --------------------------------------------------------
    def incoming(self, session: Any, message: Message) -> Message | None:
        """What a person sent: the message to queue (masked, flagged), or None (handled here)."""
        text = message.get("text")
        if not isinstance(text, str) or not text:
            return message
        reason = self.is_report(text)
        if reason is not None:
            self.report(session, reason)
            return None
        verdict = self.check(text, "incoming")
        if verdict.action == "pass":
            return message
        found = sorted({f.kind for f in verdict.findings})
        session.emit("safety", direction="incoming", action=verdict.action, found=found)
        if verdict.action == "block":
            session.notify(self.spec.block_text.format(what=describe(verdict.blocked)))
            return None
        message["text"] = verdict.text
        meta: dict[str, Any] = message["meta"] if isinstance(message.get("meta"), dict) else {}
        message["meta"] = {**meta, "safety": {"found": found, "action": verdict.action}}
        if verdict.warned:
            session.notify(self.spec.warn_text.format(what=describe(verdict.warned)))
        return message

    def outgoing(self, session: Any, message: Message) -> Message:
        """What a person is about to receive: masked, withheld or flagged as the rules say."""
        text = message.get("text")
        if not isinstance(text, str) or not text:
            return message
        verdict = self.check(text, "outgoing")
        if verdict.action == "pass":
            return message
        found = sorted({f.kind for f in verdict.findings})
        session.emit("safety", direction="outgoing", action=verdict.action, found=found)
        out = Message(message)
        out.uid = message.uid
        meta: dict[str, Any] = out["meta"] if isinstance(out.get("meta"), dict) else {}
        out["meta"] = {**meta, "safety": {"found": found, "action": verdict.action}}
        if verdict.action == "block":
            out["text"] = self.spec.withheld_text.format(what=describe(verdict.blocked))
            out.pop("payload", None)
        else:
            out["text"] = verdict.text
            if verdict.warned:
                log.warning("conversation %s: outgoing message contains %s", session.conversation_id, ", ".join(found))
        return out

    def report(self, session: Any, reason: str) -> None:
        """Flag the conversation for review (its ``meta``) and thank the person."""
        entry = {"time": time.time(), "reason": reason, "world": session.world}
        store = session.store
        if store is not None:
            conv = store.conversation(session.conversation_id) or {}
            meta = dict(conv.get("meta") or {})
            meta["flagged"] = True
            meta["reports"] = [*meta.get("reports", []), entry]
            store.update_conversation(session.conversation_id, meta=meta)
        session.emit("report", reason=reason)
        session.notify(self.spec.report_text)
