"""A study: one task's evaluation section made usable by every front end.

It loads the topics, checks consent, starts threads within the limits (the store does
that atomically), checks ratings against their questions and hands out completion
codes. Nothing here trusts who a caller says a person is: every method takes the
:class:`Account` the caller authenticated, and checks that the thread is theirs.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from workbench.evaluation.documents import Document, read_document
from workbench.evaluation.questions import AnswerError, parse_answer
from workbench.evaluation.topics import Topic, load_topics, open_topic
from workbench.store import Account, EvalThread, LimitReached, NewThread, Rating, Store
from workbench.task.schema import EvaluationSpec, RatingQuestion

#: the world each thread's conversation runs in (added to the task by :meth:`Study.install`)
THREAD_WORLD = "evaluation/thread"
#: the channel recorded with thread conversations
CHANNEL = "evaluation"
#: seconds a thread waits for its person before its conversation is put away (resumed when opened)
THREAD_IDLE_SECONDS = 1800


class StudyError(Exception):
    """A refusal a person can act on: ``code`` for programs, ``message`` for people, and
    ``fields`` (question key -> problem) for a rating form."""

    def __init__(self, code: str, message: str, fields: dict[str, str] | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.fields, self.status = code, message, fields or {}, status


LIMIT_TEXT = {
    "person": "You have done all the conversations this study allows. Thank you!",
    "topics": "There is no conversation left for you in this study right now. Thank you!",
}


@dataclass
class Progress:
    """Counts of threads by status, per topic and per worker."""

    per_topic: dict[str, dict[str, int]] = field(default_factory=dict)
    per_person: dict[str, dict[str, int]] = field(default_factory=dict)


class Study:
    def __init__(self, task: Any, store: Store | None = None) -> None:
        spec = task.spec.evaluation
        if spec is None:
            raise StudyError("no_study", f"{task.file} has no evaluation section")
        self.task = task
        self.spec: EvaluationSpec = spec
        self.store: Store = store if store is not None else task.store
        self.name: str = task.name
        self.topics: list[Topic] = load_topics(task.path(spec.topics_file)) if spec.topics_file else [open_topic()]
        self.topic_by_id = {t.id: t for t in self.topics}
        self.questions: list[RatingQuestion] = list(spec.questions)
        self.turn_questions: list[RatingQuestion] = list(spec.turn_questions)
        self._consent_version: str | None = None
        self._check_transforms()
        self.install()

    def _check_transforms(self) -> None:
        from workbench.evaluation.transforms import known
        from workbench.problems import Problem, TaskError

        problems = [
            Problem(
                str(self.task.file),
                None,
                f"evaluation.transforms.{side}.{n}.name",
                f"no transform {t.name!r}: register it with @transform({t.name!r}) in {self.task.spec.worlds_file}",
            )
            for side in ("human", "bot")
            for n, t in enumerate(getattr(self.spec.transforms, side))
            if not known(t.name, self.task.registry)
        ]
        if problems:
            raise TaskError(problems)

    # -- the thread world ------------------------------------------------------------
    def install(self) -> None:
        """Make the task able to run thread conversations (idempotent)."""
        from workbench.evaluation.thread_world import thread_world_for
        from workbench.task.schema import PythonWorld

        self.task.worlds[THREAD_WORLD] = PythonWorld(
            type="python",
            world=THREAD_WORLD,
            bots=self.spec.bots,
            next="EXIT",
            title="Evaluation thread",
            agents_required=1,
            # an idle thread gives its worker slot back; opening it again resumes it
            timeout=THREAD_IDLE_SECONDS,
        )
        self.task.registry.worlds[THREAD_WORLD] = thread_world_for(self)

    # -- documents and consent ------------------------------------------------------
    def _document(self, name: str | None) -> Document | None:
        return read_document(self.task.path(name)) if name else None

    def agreement(self) -> Document | None:
        return self._document(self.spec.onboarding.agreement_file)

    def instructions(self) -> Document | None:
        return self._document(self.spec.onboarding.instructions_file)

    @property
    def checkboxes(self) -> dict[str, str]:
        return dict(self.spec.onboarding.checkboxes)

    def consent_version(self) -> str:
        """The configured version, or a hash of the agreement and the checkboxes (read once:
        a changed agreement asks everyone again after a restart)."""
        if self._consent_version is None:
            self._consent_version = self._compute_consent_version()
        return self._consent_version

    def _compute_consent_version(self) -> str:
        if self.spec.onboarding.consent_version:
            return self.spec.onboarding.consent_version
        agreement = self.agreement()
        digest = hashlib.sha256()
        digest.update((agreement.text if agreement else "").encode())
        for key, statement in sorted(self.checkboxes.items()):
            digest.update(f"\0{key}\0{statement}".encode())
        return digest.hexdigest()[:12]

    def has_consented(self, account: Account) -> bool:
        consent = account.consent or {}
        return consent.get("version") == self.consent_version() and all(
            (consent.get("checkboxes") or {}).get(k) is True for k in self.checkboxes
        )

    def give_consent(self, account: Account, ticked: set[str]) -> Account:
        """Record the person's consent; every checkbox must be ticked."""
        missing = [k for k in self.checkboxes if k not in ticked]
        if missing:
            raise StudyError(
                "consent_missing",
                "Please tick every box to take part.",
                {k: "required" for k in missing},
            )
        consent = {
            "version": self.consent_version(),
            "checkboxes": {k: True for k in self.checkboxes},
            "time": time.time(),
        }
        self.store.study.set_consent(account.id, consent)
        account.consent = consent
        return account

    # -- threads ---------------------------------------------------------------------
    def current_thread(self, account: Account) -> EvalThread | None:
        """The person's thread that is not done yet (chatting or waiting for ratings)."""
        for thread in self.store.study.threads(self.name, person=account.id):
            if thread.status in ("chatting", "rating"):
                return thread
        return None

    def start_thread(self, account: Account, crowd: dict[str, Any] | None = None) -> EvalThread:
        """The person's unfinished thread, or a new one within the limits."""
        if account.role != "worker":
            raise StudyError("not_a_worker", "Only workers take part in a study.", status=403)
        if not self.has_consented(account):
            raise StudyError("consent_missing", "Please give your consent first.", status=403)
        current = self.current_thread(account)
        if current is not None:
            return current
        limits = self.spec.limits
        new = NewThread(
            study=self.name,
            person=account.id,
            topics=[t.id for t in self.topics],
            bots=self.spec.bots,
            max_threads_per_topic=limits.max_threads_per_topic,
            max_threads_per_person=limits.max_threads_per_person,
            task=self.task.name,
            channel=CHANNEL,
            world=THREAD_WORLD,
            data={},
        )
        try:
            thread = self.store.study.start_thread(new)
        except LimitReached as exc:
            raise StudyError(f"limit_{exc.reason}", LIMIT_TEXT[exc.reason], status=409) from None
        topic = self.topic_by_id[thread.topic]
        data = {
            # a thread person has logged in to the study: the task's chat password does not apply
            "_password_ok": True,
            "evaluation": {"thread": thread.id, "topic": topic.raw, "bot": thread.bot, "study": self.name},
        }
        self.store.update_conversation(thread.id, data=data)
        if crowd:
            thread.data = self.store.study.update_thread_data(thread.id, {"crowd": crowd})
        return thread

    def thread_of(self, account: Account, thread_id: str) -> EvalThread:
        """The thread if ``account`` may see it (its person, or an admin); else a 404 refusal
        (the same answer as for a thread that does not exist)."""
        thread = self.store.study.thread(thread_id)
        if thread is None or thread.study != self.name or (thread.person != account.id and account.role != "admin"):
            raise StudyError("no_thread", "There is no such conversation.", status=404)
        return thread

    def own_thread(self, account: Account, thread_id: str) -> EvalThread:
        """The thread if it is ``account``'s own (admins included: nobody writes another's)."""
        thread = self.thread_of(account, thread_id)
        if thread.person != account.id:
            raise StudyError("no_thread", "There is no such conversation.", status=404)
        return thread

    def transcript(self, thread_id: str) -> list[dict[str, Any]]:
        """The thread's stored messages (seed, bot and person), in order."""
        return self.store.messages(thread_id)

    def rated_messages(self, thread_id: str) -> list[int]:
        """Message numbers (seq) a person may rate: the bot's replies."""
        return [m["seq"] for m in self.transcript(thread_id) if m["role"] == "bot"]

    def finish_chat(self, thread_id: str) -> bool:
        """The chat reached its end: the thread waits for its ratings."""
        return self.store.study.set_thread_status(thread_id, "rating", expect="chatting")

    # -- ratings ---------------------------------------------------------------------
    def rate_turn(self, account: Account, thread_id: str, seq: int, answers: dict[str, str]) -> dict[str, Any]:
        """Rate one bot message of the person's own thread (before the thread is done)."""
        thread = self.own_thread(account, thread_id)
        if thread.status == "done":
            raise StudyError("thread_done", "This conversation is already rated.", status=409)
        if seq not in self.rated_messages(thread_id):
            raise StudyError("no_message", "There is no such bot message in this conversation.", status=404)
        values = self._answers(self.turn_questions, answers, partial=True)
        for key, value in values.items():
            if value is not None:
                self.store.study.rate_turn(Rating(thread_id, account.id, key, seq, value))
        return values

    def submit(self, account: Account, thread_id: str, answers: dict[str, str]) -> str:
        """Store the final ratings of the person's own thread; returns its completion code."""
        thread = self.own_thread(account, thread_id)
        if thread.status == "chatting":
            raise StudyError("still_chatting", "Please finish the conversation first.", status=409)
        if thread.status == "done":
            raise StudyError("thread_done", "This conversation is already rated.", status=409)
        values = {k: v for k, v in self._answers(self.questions, answers).items() if v is not None}
        code = self.spec.completion.code or secrets.token_hex(4).upper()
        if not self.store.study.submit_ratings(thread_id, account.id, values, {"completion_code": code}):
            raise StudyError("thread_done", "This conversation is already rated.", status=409)
        return code

    @staticmethod
    def _answers(questions: list[RatingQuestion], answers: dict[str, str], partial: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {}
        problems: dict[str, str] = {}
        for q in questions:
            if partial and q.key not in answers:
                continue
            try:
                out[q.key] = parse_answer(q, answers.get(q.key))
            except AnswerError as exc:
                problems[q.key] = str(exc)
        if problems:
            raise StudyError("bad_answers", "Some answers need another look.", problems)
        return out

    def ratings(self, thread_id: str | None = None) -> list[Rating]:
        return self.store.study.ratings(self.name, thread_id)

    def threads(self) -> list[EvalThread]:
        return self.store.study.threads(self.name)

    def progress(self) -> Progress:
        out = Progress()
        for topic in self.topics:
            out.per_topic[topic.id] = {"chatting": 0, "rating": 0, "done": 0}
        for thread in self.threads():
            out.per_topic.setdefault(thread.topic, {"chatting": 0, "rating": 0, "done": 0})
            out.per_topic[thread.topic][thread.status] = out.per_topic[thread.topic].get(thread.status, 0) + 1
            person = out.per_person.setdefault(thread.person, {"chatting": 0, "rating": 0, "done": 0})
            person[thread.status] = person.get(thread.status, 0) + 1
        return out

    def completion_code(self, account: Account, thread_id: str) -> str | None:
        thread = self.own_thread(account, thread_id)
        return thread.data.get("completion_code") if thread.status == "done" else None

    def question(self, key: str) -> RatingQuestion | None:
        return next((q for q in (*self.questions, *self.turn_questions) if q.key == key), None)
