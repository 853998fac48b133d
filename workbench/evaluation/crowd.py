"""Crowd platforms: who arrives by an assignment link, and where they go at the end.

Prolific sends ``PROLIFIC_PID``, ``STUDY_ID`` and ``SESSION_ID``; Mechanical Turk's
ExternalQuestion sends ``assignmentId``, ``hitId``, ``workerId`` and ``turkSubmitTo``
(``assignmentId=ASSIGNMENT_ID_NOT_AVAILABLE`` while a worker only previews the HIT).
The ids are checked for shape here; the places people are sent to come from the task's
configuration, never from the link.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

PREVIEW = "ASSIGNMENT_ID_NOT_AVAILABLE"
MTURK_SUBMIT = {
    True: "https://workersandbox.mturk.com/mturk/externalSubmit",
    False: "https://www.mturk.com/mturk/externalSubmit",
}
MTURK_HOSTS = ("https://www.mturk.com", "https://workersandbox.mturk.com")
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class CrowdLinkError(ValueError):
    """An assignment link whose ids are missing or malformed."""


@dataclass(frozen=True)
class Arrival:
    platform: str  # prolific | mturk
    #: the worker's id on the platform (the account is keyed on it)
    worker: str
    #: this assignment (Prolific's SESSION_ID, MTurk's assignmentId)
    assignment: str
    #: Prolific's STUDY_ID, MTurk's hitId
    batch: str

    def record(self) -> dict[str, str]:
        return {
            "platform": self.platform,
            "worker_id": self.worker,
            "assignment_id": self.assignment,
            ("study_id" if self.platform == "prolific" else "hit_id"): self.batch,
        }


def _id(params: dict[str, str], name: str) -> str:
    value = params.get(name, "")
    if not _ID.match(value):
        raise CrowdLinkError(f"the link's {name} is missing or malformed")
    return value


def prolific(params: dict[str, str]) -> Arrival:
    return Arrival("prolific", _id(params, "PROLIFIC_PID"), _id(params, "SESSION_ID"), _id(params, "STUDY_ID"))


def mturk_preview(params: dict[str, str]) -> bool:
    return params.get("assignmentId", PREVIEW) == PREVIEW


def mturk(params: dict[str, str]) -> Arrival:
    if mturk_preview(params):
        raise CrowdLinkError("a preview has no assignment")
    return Arrival("mturk", _id(params, "workerId"), _id(params, "assignmentId"), _id(params, "hitId"))


def prolific_redirect(template: str, code: str) -> str:
    return template.replace("{code}", quote(code, safe=""))


def mturk_submit_url(sandbox: bool) -> str:
    return MTURK_SUBMIT[sandbox]
