"""The ``/eval/`` routes (docs/evaluation.md#http-routes).

Who is asking comes only from the signed login cookie; a thread is shown or changed only
for its own person (admins may read any, never write); every form post carries a
single-use token bound to the login; every body is read within limits (forms.py); store
calls run in worker threads.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Any

from workbench.evaluation import crowd
from workbench.evaluation.chats import ThreadChats
from workbench.evaluation.people import PasswordRefused, create_person, crowd_worker, ensure_admin, verify_password
from workbench.evaluation.report import fmt, fmt_ci, render_html
from workbench.evaluation.statistics import compute, reading
from workbench.evaluation.study import Study, StudyError
from workbench.io.untrusted import UntrustedInput, clean_text
from workbench.services.evaluation.forms import CsrfOnly, LoginForm, SayForm, SignupForm, model, read_form
from workbench.services.evaluation.login_limit import LoginLimiter
from workbench.services.evaluation.pages import STATIC, headers, render
from workbench.services.evaluation.web_session import COOKIE, FORM_TOKEN_SECONDS, Signer, WebSession
from workbench.store import Account, AccountExists, EvalThread

log = logging.getLogger(__name__)

ROOT = "/eval"


class Refused(Exception):
    """Answer the request with a page (or a redirect) instead of going on."""

    def __init__(self, status: int, heading: str = "", text: str = "", location: str | None = None) -> None:
        super().__init__(text)
        self.status, self.heading, self.text, self.location = status, heading, text, location


class EvalService:
    def __init__(self, ctx: Any, study: Study, signer: Signer, secure: bool) -> None:
        self.ctx = ctx
        self.study = study
        self.signer = signer
        self.secure = secure
        self.limiter = LoginLimiter()
        self._chats: ThreadChats | None = None
        mturk = study.spec.mturk
        self.frame_hosts = crowd.MTURK_HOSTS if mturk is not None else ()

    @property
    def chats(self) -> ThreadChats:
        if self._chats is None or self._chats.runner is not self.ctx.runner:
            self._chats = ThreadChats(self.study, self.ctx.runner)
        return self._chats

    @property
    def store(self) -> Any:
        return self.study.store

    # -- requests ----------------------------------------------------------------------
    async def who(self, request: Any) -> tuple[WebSession, Account | None, bool]:
        """The request's session (a new anonymous one when it has none), its account, and
        whether the cookie must be (re)sent."""
        session = WebSession.from_cookie(request.cookies.get(COOKIE), self.signer)
        if session is None:
            return WebSession.new(self.study.spec.session_hours), None, True
        account = await asyncio.to_thread(self.store.study.account, session.account) if session.account else None
        return session, account, False

    def page(self, request: Any, session: Any, account: Any, name: str, status: int = 200, **values: Any) -> Any:
        from starlette.responses import HTMLResponse

        values.setdefault("title", self.study.name)
        values.setdefault("error", None)
        values.setdefault("notice", None)
        text = render(
            name,
            root=ROOT,
            study=self.study.name,
            account=account,
            csrf=lambda: session.form_token(self.signer),
            **values,
        )
        return HTMLResponse(text, status_code=status, headers=headers(self.frame_hosts))

    def redirect(self, location: str) -> Any:
        from starlette.responses import RedirectResponse

        return RedirectResponse(location, status_code=303, headers=headers(self.frame_hosts))

    def set_cookie(self, response: Any, session: WebSession) -> Any:
        response.set_cookie(
            COOKIE,
            session.cookie(self.signer),
            max_age=int(self.study.spec.session_hours * 3600),
            path=ROOT,
            httponly=True,
            secure=self.secure,
            samesite="none" if (self.secure and self.frame_hosts) else "lax",
        )
        return response

    async def posted(self, request: Any, session: WebSession, kind: type = CsrfOnly) -> tuple[Any, dict[str, str]]:
        """The form of a POST, refused unless its token was made for this login, has not
        expired and was never used before."""
        try:
            fields = await read_form(request)
            form = model(kind, fields)
        except UntrustedInput as exc:
            raise Refused(exc.status, "That form could not be read", exc.message) from None
        nonce = session.check_form_token(form.csrf, self.signer)
        if nonce is None:
            raise Refused(403, "Form refused", "This form is not valid here (it may have expired): reload the page.")
        fresh = await asyncio.to_thread(self.store.claim_event, "eval-form", nonce, FORM_TOKEN_SECONDS)
        if not fresh:
            raise Refused(403, "Form refused", "This form was already sent.")
        return form, fields

    def need_login(self, account: Account | None) -> Account:
        if account is None:
            raise Refused(303, location=f"{ROOT}/login")
        return account

    def need_admin(self, account: Account | None) -> Account:
        account = self.need_login(account)
        if account.role != "admin":
            raise Refused(403, "Not for you", "This page is for the study's admins.")
        return account

    def need_worker(self, account: Account | None) -> Account:
        account = self.need_login(account)
        if account.role != "worker":
            raise Refused(303, location=f"{ROOT}/admin")
        if not self.study.has_consented(account):
            raise Refused(303, location=f"{ROOT}/consent")
        return account

    # -- pages ---------------------------------------------------------------------------
    async def home(self, request: Any, session: WebSession, account: Account | None) -> Any:
        account = self.need_worker(account)
        threads = await asyncio.to_thread(self.store.study.threads, self.study.name, account.id)
        current = next((t for t in threads if t.status in ("chatting", "rating")), None)
        done = [t for t in threads if t.status == "done"]
        can_start = len(threads) < self.study.spec.limits.max_threads_per_person
        return self.page(
            request,
            session,
            account,
            "home.html",
            current=current,
            done=done,
            can_start=can_start,
            display_name=self.study.spec.display_name,
            notice=None if current or can_start else "You have done every conversation of this study. Thank you!",
        )

    async def login_page(self, request: Any, session: WebSession, account: Account | None, **extra: Any) -> Any:
        return self.page(
            request, session, account, "login.html", signup=self.study.spec.signup, title="Log in", **extra
        )

    async def login(self, request: Any, session: WebSession, account: Account | None) -> Any:
        form, _ = await self.posted(request, session, LoginForm)
        host = request.client.host if request.client else "?"
        keys = (f"ip:{host}", f"account:{form.account}")
        if self.limiter.blocked(*keys):
            return await self.login_page(
                request, session, None, error="Too many failed logins: wait a few minutes.", status=429
            )
        found = await asyncio.to_thread(self.store.study.account, form.account)
        if not await asyncio.to_thread(verify_password, found, form.password):
            self.limiter.failed(*keys)
            return await self.login_page(request, session, None, error="Wrong account or password.", status=401)
        self.limiter.succeeded(f"account:{form.account}")
        assert found is not None
        # a new session id at login: a session id seen before the login is worth nothing
        fresh = WebSession.new(self.study.spec.session_hours, found.id)
        return self.set_cookie(self.redirect(f"{ROOT}/admin" if found.role == "admin" else f"{ROOT}/"), fresh)

    def _ticked(self, fields: dict[str, str]) -> set[str]:
        keys = list(self.study.checkboxes)
        return {keys[i] for i in range(len(keys)) if fields.get(f"cb_{i}") == "yes"}

    async def signup_page(self, request: Any, session: WebSession, account: Account | None, **extra: Any) -> Any:
        if not self.study.spec.signup:
            raise Refused(404, "Not here", "This study does not take sign-ups.")
        agreement = await asyncio.to_thread(self.study.agreement)
        extra.setdefault("problems", {})
        return self.page(
            request,
            session,
            account,
            "signup.html",
            agreement=agreement,
            checkboxes=self.study.checkboxes,
            title="Sign up",
            **extra,
        )

    async def signup(self, request: Any, session: WebSession, account: Account | None) -> Any:
        if not self.study.spec.signup:
            raise Refused(404, "Not here", "This study does not take sign-ups.")
        form, fields = await self.posted(request, session, SignupForm)
        ticked = self._ticked(fields)
        missing = {k: "required" for k in self.study.checkboxes if k not in ticked}
        if missing:
            return await self.signup_page(
                request, session, None, error="Please tick every box to take part.", problems=missing, status=400
            )
        if form.password != form.password2:
            return await self.signup_page(request, session, None, error="The two passwords differ.", status=400)
        try:
            created = await asyncio.to_thread(create_person, self.store, form.account, form.password)
        except PasswordRefused as exc:
            return await self.signup_page(request, session, None, error=str(exc), status=400)
        except AccountExists:
            return await self.signup_page(request, session, None, error="That account name is taken.", status=409)
        await asyncio.to_thread(self.study.give_consent, created, ticked)
        fresh = WebSession.new(self.study.spec.session_hours, created.id)
        return self.set_cookie(self.redirect(f"{ROOT}/"), fresh)

    async def consent_page(self, request: Any, session: WebSession, account: Account | None, **extra: Any) -> Any:
        account = self.need_login(account)
        agreement = await asyncio.to_thread(self.study.agreement)
        extra.setdefault("problems", {})
        return self.page(
            request,
            session,
            account,
            "consent.html",
            agreement=agreement,
            checkboxes=self.study.checkboxes,
            title="Consent",
            **extra,
        )

    async def consent(self, request: Any, session: WebSession, account: Account | None) -> Any:
        account = self.need_login(account)
        _, fields = await self.posted(request, session)
        try:
            await asyncio.to_thread(self.study.give_consent, account, self._ticked(fields))
        except StudyError as exc:
            return await self.consent_page(
                request, session, account, error=exc.message, problems=exc.fields, status=400
            )
        return self.redirect(f"{ROOT}/")

    async def start(self, request: Any, session: WebSession, account: Account | None) -> Any:
        account = self.need_worker(account)
        await self.posted(request, session)
        crowd_info = account.data.get("crowd")
        thread = await asyncio.to_thread(self.study.start_thread, account, crowd_info)
        return self.redirect(f"{ROOT}/threads/{thread.id}")

    async def _thread(self, account: Account, thread_id: str, own: bool = True) -> EvalThread:
        getter = self.study.own_thread if own else self.study.thread_of
        return await asyncio.to_thread(getter, account, thread_id)

    async def thread_page(
        self, request: Any, session: WebSession, account: Account | None, thread_id: str, **extra: Any
    ) -> Any:
        account = self.need_worker(account)
        thread = await self._thread(account, thread_id)
        if thread.status == "chatting":
            await self.chats.open(thread)  # the seed and the bot's greeting, stored before they are shown
            thread = await self._thread(account, thread_id)
        return await self._render_thread(request, session, account, thread, **extra)

    async def _render_thread(
        self,
        request: Any,
        session: WebSession,
        account: Account,
        thread: EvalThread,
        readonly: bool = False,
        **extra: Any,
    ) -> Any:
        rows = await asyncio.to_thread(self.study.transcript, thread.id)
        ratings = await asyncio.to_thread(self.study.ratings, thread.id)
        turn_ratings: dict[int, dict[str, Any]] = {}
        for r in ratings:
            if r.seq:
                turn_ratings.setdefault(r.seq, {})[r.question] = r.value
        topic = self.study.topic_by_id.get(thread.topic)
        messages = []
        for row in rows:
            act = row.get("act") or {}
            meta = act.get("meta") or {}
            kind = "seed" if meta.get("seed") else row["role"]
            speaker = (
                self.study.spec.display_name
                if kind == "bot"
                else ("You" if kind == "human" and not readonly else act.get("id") or row.get("agent") or "")
            )
            messages.append(
                {
                    "seq": row["seq"],
                    "kind": kind,
                    "speaker": speaker,
                    "text": row.get("text") or "",
                    "turn_ratings": turn_ratings.get(row["seq"], {}),
                }
            )
        turns = sum(1 for m in messages if m["kind"] == "human")
        instructions = await asyncio.to_thread(self.study.instructions)
        extra.setdefault("problems", {})
        return self.page(
            request,
            session,
            account,
            "thread.html",
            thread=thread,
            topic_name=topic.name if topic else thread.topic,
            messages=messages,
            instructions=instructions,
            questions=self.study.questions,
            turn_questions=self.study.turn_questions,
            rating_open=thread.status in ("chatting", "rating"),
            turns_left=max(0, self.study.spec.limits.max_turns_per_thread - turns),
            max_chars=self.study.spec.limits.max_message_chars,
            readonly=readonly,
            final_ratings={r.question: r.value for r in ratings if r.seq == 0},
            title=topic.name if topic else "Conversation",
            **extra,
        )

    async def say(self, request: Any, session: WebSession, account: Account | None, thread_id: str) -> Any:
        account = self.need_worker(account)
        form, _ = await self.posted(request, session, SayForm)
        thread = await self._thread(account, thread_id)
        await self.chats.say(thread, clean_text(form.text))
        return self.redirect(f"{ROOT}/threads/{thread.id}#say-form")

    def _answers(self, questions: list, fields: dict[str, str]) -> dict[str, str]:
        return {q.key: fields[f"q{i}"] for i, q in enumerate(questions) if f"q{i}" in fields}

    async def rate_turn(
        self, request: Any, session: WebSession, account: Account | None, thread_id: str, seq: str
    ) -> Any:
        account = self.need_worker(account)
        _, fields = await self.posted(request, session)
        if not seq.isdigit() or len(seq) > 9:
            raise Refused(404, "Not found", "There is no such message.")
        answers = {k: v for k, v in self._answers(self.study.turn_questions, fields).items() if v != ""}
        await asyncio.to_thread(self.study.rate_turn, account, thread_id, int(seq), answers)
        return self.redirect(f"{ROOT}/threads/{thread_id}#msg-{seq}")

    async def rate(self, request: Any, session: WebSession, account: Account | None, thread_id: str) -> Any:
        account = self.need_worker(account)
        _, fields = await self.posted(request, session)
        try:
            await asyncio.to_thread(self.study.submit, account, thread_id, self._answers(self.study.questions, fields))
        except StudyError as exc:
            if exc.code != "bad_answers":
                raise
            thread = await self._thread(account, thread_id)
            return await self._render_thread(
                request, session, account, thread, error=exc.message, problems=exc.fields, status=400
            )
        return self.redirect(f"{ROOT}/threads/{thread_id}/done")

    async def done(self, request: Any, session: WebSession, account: Account | None, thread_id: str) -> Any:
        account = self.need_worker(account)
        thread = await self._thread(account, thread_id)
        if thread.status != "done":
            return self.redirect(f"{ROOT}/threads/{thread.id}")
        code = thread.data.get("completion_code", "")
        info = thread.data.get("crowd") or {}
        prolific_url = mturk_url = None
        if info.get("platform") == "prolific":
            prolific_url = crowd.prolific_redirect(self.study.spec.completion.prolific_redirect, code)
        elif info.get("platform") == "mturk" and self.study.spec.mturk is not None:
            mturk_url = crowd.mturk_submit_url(self.study.spec.mturk.sandbox)
        threads = await asyncio.to_thread(self.store.study.threads, self.study.name, account.id)
        more = not info and len(threads) < self.study.spec.limits.max_threads_per_person
        return self.page(
            request,
            session,
            account,
            "done.html",
            code=code,
            text=self.study.spec.completion.text,
            prolific_url=prolific_url,
            mturk_url=mturk_url,
            assignment_id=info.get("assignment_id", ""),
            more=more,
            title="Thank you",
        )

    async def logout(self, request: Any, session: WebSession, account: Account | None) -> Any:
        await self.posted(request, session)
        response = self.redirect(f"{ROOT}/login")
        response.delete_cookie(COOKIE, path=ROOT)
        return response

    # -- crowd arrivals --------------------------------------------------------------------
    async def arrive(self, request: Any, session: WebSession, account: Account | None, arrival: crowd.Arrival) -> Any:
        """A crowd worker's link: the first browser to open it holds the worker's login; a
        link opened elsewhere without that login is refused (the ids in a link are no password)."""
        worker, created = await asyncio.to_thread(crowd_worker, self.store, arrival.platform, arrival.worker)
        if not created and (account is None or account.id != worker.id):
            raise Refused(
                403,
                "Already open elsewhere",
                "This assignment is already open in another browser. Continue there, or contact the researchers.",
            )
        await asyncio.to_thread(self.store.study.update_account_data, worker.id, {"crowd": arrival.record()})
        fresh = (
            session
            if (account is not None and account.id == worker.id)
            else WebSession.new(self.study.spec.session_hours, worker.id)
        )
        return self.set_cookie(self.redirect(f"{ROOT}/"), fresh)

    async def prolific(self, request: Any, session: WebSession, account: Account | None) -> Any:
        try:
            arrival = crowd.prolific(dict(request.query_params))
        except crowd.CrowdLinkError as exc:
            raise Refused(400, "This link is not complete", str(exc)) from None
        return await self.arrive(request, session, account, arrival)

    async def mturk(self, request: Any, session: WebSession, account: Account | None) -> Any:
        params = dict(request.query_params)
        if self.study.spec.mturk is None:
            raise Refused(404, "Not here", "This study does not use Mechanical Turk.")
        if crowd.mturk_preview(params):
            instructions = await asyncio.to_thread(self.study.instructions)
            return self.page(
                request,
                session,
                None,
                "preview.html",
                title=str(self.study.spec.mturk.hit_settings.get("Title") or self.study.name),
                display_name=self.study.spec.display_name,
                turns=self.study.spec.limits.max_turns_per_thread,
                instructions=instructions,
            )
        try:
            arrival = crowd.mturk(params)
        except crowd.CrowdLinkError as exc:
            raise Refused(400, "This link is not complete", str(exc)) from None
        return await self.arrive(request, session, account, arrival)

    # -- admins ----------------------------------------------------------------------------
    async def admin(self, request: Any, session: WebSession, account: Account | None) -> Any:
        account = self.need_admin(account)
        stats = await asyncio.to_thread(compute, self.study)
        progress = await asyncio.to_thread(self.study.progress)
        threads = await asyncio.to_thread(self.study.threads)
        return self.page(
            request,
            session,
            account,
            "admin.html",
            stats=stats,
            progress=progress,
            threads=threads,
            fmt=fmt,
            fmt_ci=fmt_ci,
            reading=reading,
            title="Dashboard",
            wide=True,
        )

    async def admin_thread(self, request: Any, session: WebSession, account: Account | None, thread_id: str) -> Any:
        account = self.need_admin(account)
        thread = await self._thread(account, thread_id, own=False)
        return await self._render_thread(request, session, account, thread, readonly=True)

    async def admin_report(self, request: Any, session: WebSession, account: Account | None) -> Any:
        from starlette.responses import HTMLResponse

        self.need_admin(account)
        text = await asyncio.to_thread(render_html, self.study)
        return HTMLResponse(text, headers=headers(self.frame_hosts))


def _secret(ctx: Any) -> tuple[str, bool]:
    from workbench.services.settings import environment, secret

    value = secret(environment().eval_secret)
    if value:
        return value, True
    log.warning(
        "WORKBENCH_EVAL_SECRET is not set: evaluation logins are signed with a key made for this "
        "process, so every login ends when the server restarts"
    )
    return secrets.token_urlsafe(48), False


def _bootstrap_admin(study: Study) -> None:
    from workbench.services.settings import environment, secret

    env = environment()
    password = secret(env.eval_admin_password)
    if env.eval_admin and password:
        try:
            ensure_admin(study.store, env.eval_admin, password)
        except PasswordRefused as exc:
            log.error("WORKBENCH_EVAL_ADMIN: %s", exc)


def routes(ctx: Any) -> list:
    """The evaluation routes when the task has an ``evaluation:`` section (none otherwise)."""
    if getattr(ctx.task.spec, "evaluation", None) is None:
        return []
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    from workbench.services.settings import environment

    secret_text, _ = _secret(ctx)
    try:
        signer = Signer(secret_text)
    except ValueError as exc:
        log.error("the evaluation pages are off: %s", exc)
        return []
    study = Study(ctx.task, ctx.store)
    _bootstrap_admin(study)
    service = EvalService(ctx, study, signer, environment().eval_cookie_secure)
    ctx.evaluation = service

    def handler(method: Any) -> Any:
        async def endpoint(request: Any) -> Any:
            session, account, fresh_cookie = await service.who(request)
            try:
                response = await method(request, session, account, **request.path_params)
            except Refused as exc:
                if exc.location:
                    response = service.redirect(exc.location)
                else:
                    response = service.page(
                        request, session, account, "message.html", status=exc.status, heading=exc.heading, text=exc.text
                    )
            except StudyError as exc:
                response = service.page(
                    request, session, account, "message.html", status=exc.status, heading="Sorry", text=exc.message
                )
            if fresh_cookie and COOKIE not in response.headers.get("set-cookie", ""):
                service.set_cookie(response, session)
            return response

        return endpoint

    get, post = ["GET"], ["POST"]
    return [
        Route(f"{ROOT}/", handler(service.home), methods=get),
        Route(f"{ROOT}/login", handler(service.login_page), methods=get),
        Route(f"{ROOT}/login", handler(service.login), methods=post),
        Route(f"{ROOT}/signup", handler(service.signup_page), methods=get),
        Route(f"{ROOT}/signup", handler(service.signup), methods=post),
        Route(f"{ROOT}/consent", handler(service.consent_page), methods=get),
        Route(f"{ROOT}/consent", handler(service.consent), methods=post),
        Route(f"{ROOT}/logout", handler(service.logout), methods=post),
        Route(f"{ROOT}/threads", handler(service.start), methods=post),
        Route(f"{ROOT}/threads/{{thread_id}}", handler(service.thread_page), methods=get),
        Route(f"{ROOT}/threads/{{thread_id}}/say", handler(service.say), methods=post),
        Route(f"{ROOT}/threads/{{thread_id}}/turns/{{seq}}", handler(service.rate_turn), methods=post),
        Route(f"{ROOT}/threads/{{thread_id}}/rate", handler(service.rate), methods=post),
        Route(f"{ROOT}/threads/{{thread_id}}/done", handler(service.done), methods=get),
        Route(f"{ROOT}/prolific", handler(service.prolific), methods=get),
        Route(f"{ROOT}/mturk", handler(service.mturk), methods=get),
        Route(f"{ROOT}/admin", handler(service.admin), methods=get),
        Route(f"{ROOT}/admin/report", handler(service.admin_report), methods=get),
        Route(f"{ROOT}/admin/threads/{{thread_id}}", handler(service.admin_thread), methods=get),
        Mount(f"{ROOT}/static", app=StaticFiles(directory=str(STATIC)), name="eval-static"),
    ]
