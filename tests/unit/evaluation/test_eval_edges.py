"""What the evaluation's edges accept: answers checked against their questions, login
cookies and form tokens that cannot be forged, moved or kept past their time, failed
logins limited within bounded memory, transforms that keep the original text, and
Mechanical Turk HITs made through boto3 (botocore's Stubber stands in for Amazon)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from support import copy_sample

from workbench.evaluation.questions import AnswerError, index_of, level, numeric, parse_answer
from workbench.evaluation.transforms import Chain
from workbench.message import Message
from workbench.services.evaluation.login_limit import LoginLimiter
from workbench.services.evaluation.web_session import Signer, WebSession
from workbench.task.registry import Registry
from workbench.task.schema import RatingQuestion, TransformSpec

LIKERT = RatingQuestion(question="How good?", type="likert", choices=["bad", "ok", "good"])
NUMBER = RatingQuestion(question="How many?", type="number", min=0, max=10)
TEXT = RatingQuestion(question="Why?", required=False, max_length=5)


def test_eval_answers_are_checked_against_their_question() -> None:
    assert parse_answer(LIKERT, "good") == "good" and parse_answer(LIKERT, "1") == "ok"
    assert numeric(LIKERT, "ok") == 2.0 and index_of(LIKERT, "ok") == 1 and level(LIKERT) == "ordinal"
    for bad in ("", "3", "great", None):
        with pytest.raises(AnswerError):
            parse_answer(LIKERT, bad)
    assert parse_answer(NUMBER, " 7.5 ") == 7.5 and level(NUMBER) == "interval"
    for bad in ("11", "-1", "nan", "inf", "seven"):
        with pytest.raises(AnswerError):
            parse_answer(NUMBER, bad)
    assert parse_answer(TEXT, "") is None and parse_answer(TEXT, "a\x00b") == "a\ufffdb" and level(TEXT) is None
    with pytest.raises(AnswerError):
        parse_answer(TEXT, "too long")
    with pytest.raises(ValueError):
        RatingQuestion(question="q", type="likert", choices=["only one"])


def test_eval_cookies_and_form_tokens_cannot_be_forged_moved_or_kept() -> None:
    signer = Signer("a" * 40)
    session = WebSession.new(1, "ann")
    back = WebSession.from_cookie(session.cookie(signer), signer)
    assert back is not None and back.account == "ann" and back.sid == session.sid
    assert WebSession.from_cookie(session.cookie(Signer("b" * 40)), signer) is None
    payload, sig = session.cookie(signer).split(".")
    assert WebSession.from_cookie(payload[:-2] + "AA." + sig, signer) is None
    expired = WebSession(session.sid, "ann", time.time() - 1)
    assert WebSession.from_cookie(expired.cookie(signer), signer) is None
    token = session.form_token(signer)
    assert session.check_form_token(token, signer) is not None
    assert WebSession.new(1, "ann").check_form_token(token, signer) is None  # another login's
    assert session.check_form_token(token, Signer("b" * 40)) is None
    nonce, _, signature = token.split(".")
    assert session.check_form_token(f"{nonce}.1.{signature}", signer) is None  # expired
    with pytest.raises(ValueError):
        Signer("short")


def test_eval_failed_logins_are_limited_in_bounded_memory() -> None:
    limiter = LoginLimiter(attempts=3, window=60, max_keys=100)
    for _ in range(3):
        assert not limiter.blocked("ip:1", "account:ann")
        limiter.failed("ip:1", "account:ann")
    assert limiter.blocked("account:ann") and limiter.blocked("ip:1")
    assert not limiter.blocked("ip:2", "account:bob")
    limiter.succeeded("account:ann")
    assert not limiter.blocked("account:ann") and limiter.blocked("ip:1")
    for n in range(1000):
        limiter.failed(f"account:made-up-{n}")
    assert len(limiter._failures) <= 100


def test_eval_transforms_keep_the_original_text() -> None:
    registry = Registry()
    registry.transforms["shout"] = lambda text, mark="!": text.upper() + mark

    class Boteval:
        def __init__(self, suffix: str) -> None:
            self.suffix = suffix

        def transform(self, text: str) -> str:
            return text + self.suffix

    registry.transforms["cls"] = Boteval
    chain = Chain(
        [
            TransformSpec(name="shout", args={"mark": "?"}),
            TransformSpec(name="cls", args={"suffix": " (t)"}),
            TransformSpec(name="strip"),
        ],
        registry,
    )
    msg = chain.apply(Message(text="hi "))
    assert msg["text"] == "HI ? (t)" and msg["meta"]["text_orig"] == "hi "
    untouched = chain.apply(Message(payload={"type": "image"}))
    assert "meta" not in untouched
    assert not Chain([TransformSpec(name="missing")], registry)


def test_eval_mturk_hits_are_made_once_per_topic(tmp_path: Path) -> None:
    boto3 = pytest.importorskip("boto3")
    from botocore.stub import ANY, Stubber

    from workbench.evaluation.mturk import MturkError, create_hits, question_xml
    from workbench.evaluation.study import Study
    from workbench.store import open_store
    from workbench.task import load_task

    root = copy_sample("bot_eval", tmp_path)
    text = (root / "task.yml").read_text()
    (root / "task.yml").write_text(
        text + "  mturk:\n    sandbox: true\n    external_url: https://eval.example.org/eval/mturk\n"
        "    hit_settings: {Title: Rate a bot, Reward: 0.5}\n"
    )
    task = load_task(root)
    store = open_store(tmp_path / "m.db")
    study = Study(task, store)
    client = boto3.client("mturk", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    stub = Stubber(client)
    for n, topic in enumerate(("parks", "bikes")):
        stub.add_response(
            "create_hit",
            {"HIT": {"HITId": f"HIT{n}"}},
            {
                "Title": "Rate a bot",
                "Description": ANY,
                "Reward": "0.5",
                "AssignmentDurationInSeconds": 3600,
                "LifetimeInSeconds": ANY,
                "AutoApprovalDelayInSeconds": ANY,
                "MaxAssignments": 3,
                "Question": question_xml("https://eval.example.org/eval/mturk", 800),
                "RequesterAnnotation": f"bot_eval:{topic}",
            },
        )
    with stub:
        hits = create_hits(study, client)
        assert [(h.topic, h.hit_id, h.created) for h in hits] == [("parks", "HIT0", True), ("bikes", "HIT1", True)]
        # a second run makes none (the stub would refuse an unexpected call)
        assert [h.created for h in create_hits(study, client)] == [False, False]
        stub.assert_no_pending_responses()
    failing = Stubber(client)
    failing.add_client_error("create_hit", service_error_code="RequestError", service_message="no money")
    store.documents("evaluation:hits").write(replace=True)
    with failing, pytest.raises(MturkError, match="parks.*no money"):
        create_hits(study, client)
    study.spec.mturk.external_url = "http://not-https"
    with pytest.raises(MturkError, match="https"):
        create_hits(study, client)
    store.close()
