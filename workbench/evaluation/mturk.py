"""Mechanical Turk HITs for a study (the ``[mturk]`` extra: boto3).

One HIT per topic, each an ExternalQuestion pointing at this server's ``/eval/mturk``
page, with as many assignments as the topic may have threads. The sandbox or the live
marketplace comes from ``evaluation.mturk.sandbox``; credentials from the AWS profile or
environment, never from the task. The HIT ids are kept in the store (document set
``evaluation:hits``) so they are not created twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

if TYPE_CHECKING:
    from workbench.evaluation.study import Study

ENDPOINTS = {
    True: "https://mturk-requester-sandbox.us-east-1.amazonaws.com",
    False: "https://mturk-requester.us-east-1.amazonaws.com",
}
EXTERNAL_QUESTION = (
    '<ExternalQuestion xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2006-07-14/ExternalQuestion.xsd">'
    "<ExternalURL>{url}</ExternalURL><FrameHeight>{height}</FrameHeight></ExternalQuestion>"
)
DEFAULT_HIT = {
    "Title": "Chat with a bot and rate it",
    "Description": "Chat with a bot for a few turns, then answer a few questions about it.",
    "Reward": "0.50",
    "AssignmentDurationInSeconds": 3600,
    "LifetimeInSeconds": 7 * 86400,
    "AutoApprovalDelayInSeconds": 3 * 86400,
}


class MturkError(RuntimeError):
    """HITs cannot be made: the extra is missing, no external URL, or the API refused."""


@dataclass
class Hit:
    topic: str
    hit_id: str
    created: bool


def client(study: Study) -> Any:
    """A boto3 MTurk client for the study's marketplace (sandbox or live)."""
    spec = study.spec.mturk
    if spec is None:
        raise MturkError("the evaluation section has no mturk: settings")
    try:
        import boto3
    except ImportError:
        raise MturkError("Mechanical Turk needs boto3: pip install 'workbench[mturk]'") from None
    session = boto3.session.Session(profile_name=spec.profile) if spec.profile else boto3.session.Session()
    return session.client("mturk", region_name=spec.region, endpoint_url=ENDPOINTS[spec.sandbox])


def question_xml(url: str, height: int) -> str:
    return EXTERNAL_QUESTION.format(url=escape(url), height=height)


def create_hits(study: Study, mturk: Any | None = None) -> list[Hit]:
    """A HIT per topic that has none yet (ids kept in the store); returns every topic's HIT."""
    spec = study.spec.mturk
    if spec is None:
        raise MturkError("the evaluation section has no mturk: settings")
    if not spec.external_url or not spec.external_url.startswith("https://"):
        raise MturkError("evaluation.mturk.external_url must be the https URL of this server's /eval/mturk page")
    mturk = mturk if mturk is not None else client(study)
    docs = study.store.documents("evaluation:hits")
    known = dict(docs.read())
    out: list[Hit] = []
    for topic in study.topics:
        if topic.id in known:
            out.append(Hit(topic.id, known[topic.id]["hit_id"], False))
            continue
        settings = {**DEFAULT_HIT, **spec.hit_settings}
        settings.setdefault("MaxAssignments", study.spec.limits.max_threads_per_topic)
        settings["Reward"] = str(settings["Reward"])
        try:
            answer = mturk.create_hit(
                **settings,
                Question=question_xml(spec.external_url, spec.frame_height),
                RequesterAnnotation=f"{study.name}:{topic.id}"[:255],
            )
        except Exception as exc:  # botocore's ClientError and friends: say which topic failed
            raise MturkError(f"creating the HIT for topic {topic.id!r} failed: {exc}") from exc
        hit_id = answer["HIT"]["HITId"]
        docs.write([(topic.id, {"hit_id": hit_id, "sandbox": spec.sandbox})])
        out.append(Hit(topic.id, hit_id, True))
    return out
