"""WorkbenchApp: the Textual app `workbench open` runs.

The first paint shows the chat screen at once; the store and the
runner open in a worker right after, so start-up never waits for them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from workbench.screens.messages import RetrievalUpdate, StoreFailed, StoreReady, TaskInvalid

if TYPE_CHECKING:
    from workbench.store import Store
    from workbench.task import Task


class WorkbenchApp(App):
    CSS_PATH = "workbench.tcss"
    TITLE = "workbench"
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", id="app.quit", tooltip="Leave workbench", priority=True),
        Binding(
            "ctrl+s",
            "serve",
            "Serve",
            id="app.serve",
            tooltip="Serve the task and watch its live conversations",
        ),
        Binding(
            "f8",
            "rate",
            "Rate",
            id="app.rate",
            tooltip="A rating session of the task's evaluation study (consent, chat, rate)",
        ),
        Binding(
            "f9",
            "study_admin",
            "Study",
            id="app.study_admin",
            tooltip="The evaluation study's progress, ratings, agreement, threads and export",
        ),
    ]

    def __init__(self, task: Any, conversation_id: str | None = None, store: Any = None) -> None:
        super().__init__()
        self.wb_task = task
        self.conversation_id = conversation_id
        self._store = store
        self.runner: Any = None
        #: the serve screen, once opened (installed, so its server outlives a visit to the chat)
        self.serve_screen: Any = None
        #: the task's evaluation study, made when a rating or admin screen first opens
        self.study: Any = None
        #: seconds from this app's creation to its first paint, and to the first moment the
        #: person can answer (the world waits for them, its greeting shown); the start-up
        #: benchmark measures both from process start with WORKBENCH_STARTUP_MARKS
        #: the problems that stopped the app before it started (the checks of `workbench validate`)
        self.problems: list[Any] = []
        self.first_paint: float | None = None
        self.first_usable: float | None = None
        self._created = time.perf_counter()
        self._usable_timer: Any = None
        self._unsubscribe: Any = None

    def on_mount(self) -> None:
        from workbench.screens.chat import ChatScreen

        self.chat = ChatScreen(self.wb_task, self.conversation_id)
        self.push_screen(self.chat)
        self.call_after_refresh(self._painted)
        from workbench.engines.retrieval.events import subscribe

        # post_message is thread-safe: the events come from the retrieval thread
        self._unsubscribe = subscribe(lambda event: self.post_message(RetrievalUpdate(event)))
        self.open_store()

    def _painted(self) -> None:
        self.first_paint = time.perf_counter() - self._created
        self._mark("paint")

    def _check_usable(self) -> None:
        """First usable: the person's world waits for their message and the transcript shows
        everything they were sent (the greeting, a menu), painted."""
        if self.first_usable is not None or not self.chat.usable():
            return
        if self._usable_timer is not None:
            self._usable_timer.stop()
        self.call_after_refresh(self._usable)

    def _usable(self) -> None:
        if self.first_usable is None:
            self.first_usable = time.perf_counter() - self._created
            self._mark("usable")

    def _mark(self, what: str) -> None:
        """benchmarks/startup.py: note the moment of ``what`` in a file; leave once usable."""
        marker = os.environ.get("WORKBENCH_STARTUP_MARKS")
        if not marker:
            return
        with open(marker, "a", encoding="utf-8") as fh:
            fh.write(f"{what} {time.time():.6f}\n")
        if what == "usable":
            self.exit()

    @work(thread=True, exit_on_error=False, group="store", name="open-store")
    def open_store(self) -> None:
        """Open the store, run `validate`'s checks (building every bot, kept for the runner)
        and build the runner, off the UI thread."""
        try:
            from workbench.runtime.runner import Runner
            from workbench.services.preflight import errors, preflight

            store = self._store if self._store is not None else self.wb_task.store
            problems = preflight(self.wb_task, store)
            if errors(problems):
                self.post_message(TaskInvalid(problems))
                return
            runner = Runner(self.wb_task, store)
        except Exception as exc:  # shown to the person, never a traceback
            self.post_message(StoreFailed(f"{type(exc).__name__}: {exc}"))
            return
        for p in problems:  # warnings only
            self.notify(str(p), severity="warning", timeout=10)
        self.post_message(StoreReady(runner))

    @on(TaskInvalid)
    def _task_invalid(self, message: TaskInvalid) -> None:
        """Stop with `validate`'s errors; `workbench open` prints them (file:line) and exits 2."""
        self.problems = message.problems
        self.exit(return_code=2)

    @on(StoreReady)
    async def _store_ready(self, message: StoreReady) -> None:
        self.runner = message.runner
        # polled, not evented: the runtime says nothing when a world starts waiting for a person
        self._usable_timer = self.set_interval(0.01, self._check_usable)
        await self.chat.attach(self.runner)

    @on(StoreFailed)
    def _store_failed(self, message: StoreFailed) -> None:
        self.notify(f"Could not open the store: {message.error}", severity="error", timeout=30)

    @on(RetrievalUpdate)
    def _retrieval_update(self, message: RetrievalUpdate) -> None:
        """Show the background work of hybrid matching: encoding progress in the header, then
        when it answers (or why it cannot)."""
        event = message.event
        if event.kind == "encoding":
            self.sub_title = f"encoding {event.collection}: {event.done} of {event.total} examples"
        elif event.kind == "ready":
            self.sub_title = ""
            self.notify(f"{event.collection}: {event.message}", title="Hybrid matching ready", timeout=4, markup=False)
        elif event.kind == "fallback":
            self.sub_title = ""
            self.notify(event.message, title="Matching with BM25 only", severity="warning", timeout=12, markup=False)

    def action_serve(self) -> None:
        """Open the serve screen (kept installed, so the server outlives a visit to the chat)."""
        from workbench.screens.serve import ServeScreen

        if self.serve_screen is None:
            store = self.runner.store if self.runner is not None else self._store
            self.serve_screen = ServeScreen(self.wb_task, store=store)
            self.install_screen(self.serve_screen, "serve")
        if self.screen is not self.serve_screen:
            self.push_screen("serve")

    def _study(self) -> Any:
        """The task's evaluation study (made once), or None with a notice."""
        if self.wb_task.spec.evaluation is None:
            self.notify("This task has no evaluation section (docs/evaluation.md).", severity="warning")
            return None
        if self.runner is None:
            self.notify("The store is still opening.", severity="warning")
            return None
        if self.study is None:
            from workbench.evaluation import Study

            self.study = Study(self.wb_task, self.runner.store)
        return self.study

    def action_rate(self) -> None:
        """Open a rating session (each visit a new one, for the person at the keyboard)."""
        study = self._study()
        if study is not None:
            from workbench.screens.eval_session import RatingSessionScreen

            self.push_screen(RatingSessionScreen(study, self.runner))

    def action_study_admin(self) -> None:
        study = self._study()
        if study is not None:
            from workbench.screens.eval_admin import EvalAdminScreen

            self.push_screen(EvalAdminScreen(study))

    async def on_unmount(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        if self.serve_screen is not None:
            await self.serve_screen.live.stop()
        if self.runner is not None:
            await self.runner.stop()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The study's keys are left out of the footer and the palette of tasks without a study,
        the serve key out of the serve screen's."""
        if action in ("rate", "study_admin"):
            return self.wb_task.spec.evaluation is not None
        if action == "serve":
            return self.serve_screen is None or self.screen is not self.serve_screen  # it is there
        return True

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Every binding of the app and the current screen that applies here is also a palette
        command, its key in its help ("ctrl+d · Browse, edit and try...")."""
        yield from super().get_system_commands(screen)
        seen = set()
        for node, bindings in ((screen, screen.BINDINGS), (self, self.BINDINGS)):
            for b in bindings:
                if not isinstance(b, Binding) or b.action in seen or b.action.endswith("quit"):
                    continue
                seen.add(b.action)
                if node.check_action(b.action, ()) is False:
                    continue  # an engine tool this task has no bot for, a study it has not
                yield SystemCommand(
                    b.description or b.action,
                    f"{key_name(b)} · {b.tooltip or b.description}",
                    (lambda n=node, a=b.action: n.run_action(a)),
                )


def key_name(binding: Binding) -> str:
    """A binding's first key as a person types it: ctrl+d, F6, Esc."""
    key = binding.key.split(",")[0].strip()
    if key == "escape":
        return "Esc"
    if len(key) > 1 and key[0] == "f" and key[1:].isdigit():
        return key.upper()
    return key


def make_app(task: Task | str | Path, store: Store | None = None, conversation_id: str | None = None) -> WorkbenchApp:
    """The app `workbench open` runs, for ``task`` (loaded, or its directory / task file).

    ``store`` replaces the task's own (``data/workbench.db``); ``conversation_id`` opens that
    stored conversation. A task that does not load raises :class:`~workbench.task.TaskError`.
    """
    if isinstance(task, (str, Path)):
        from workbench.task import load_task

        task = load_task(task)
    return WorkbenchApp(task, conversation_id=conversation_id, store=store)
