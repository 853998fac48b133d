"""WorkbenchApp: the Textual app `workbench open` runs.

The first paint shows the chat screen at once; the store and the
runner open in a worker right after, so start-up never waits for them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from typing import Any

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from workbench.screens.messages import RetrievalUpdate, StoreFailed, StoreReady


class WorkbenchApp(App):
    CSS_PATH = "workbench.tcss"
    TITLE = "workbench"
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", id="app.quit", tooltip="Leave workbench", priority=True),
        Binding(
            "ctrl+s",
            "serve",
            "Serve",
            show=False,
            id="app.serve",
            tooltip="Serve the task and watch its live conversations",
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
        #: seconds from this app's creation to its first paint (the start-up
        #: benchmark measures from process start with WORKBENCH_EXIT_AFTER_PAINT)
        self.first_paint: float | None = None
        self._created = time.perf_counter()
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
        # benchmarks/startup.py: note the moment of the first paint in a file, then leave
        marker = os.environ.get("WORKBENCH_EXIT_AFTER_PAINT")
        if marker:
            with open(marker + ".tmp", "w", encoding="utf-8") as fh:
                fh.write(f"{time.time():.6f}\n")
            os.replace(marker + ".tmp", marker)
            self.exit(self.first_paint)

    @work(thread=True, exit_on_error=False, group="store", name="open-store")
    def open_store(self) -> None:
        """Open the store and build the runner off the UI thread."""
        try:
            from workbench.runtime.runner import Runner

            store = self._store if self._store is not None else self.wb_task.store
            if self._store is not None:
                self.wb_task.use_store(store)
            runner = Runner(self.wb_task, store)
        except Exception as exc:  # shown to the person, never a traceback
            self.post_message(StoreFailed(f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(StoreReady(runner))

    @on(StoreReady)
    async def _store_ready(self, message: StoreReady) -> None:
        self.runner = message.runner
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

    async def on_unmount(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        if self.serve_screen is not None:
            await self.serve_screen.live.stop()
        if self.runner is not None:
            await self.runner.stop()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Every binding of the app and the current screen is also a palette command."""
        yield from super().get_system_commands(screen)
        seen = set()
        for node, bindings in ((screen, screen.BINDINGS), (self, self.BINDINGS)):
            for b in bindings:
                if not isinstance(b, Binding) or b.action in seen or b.action == "quit":
                    continue
                seen.add(b.action)
                yield SystemCommand(
                    b.description or b.action,
                    b.tooltip or b.description,
                    (lambda n=node, a=b.action: n.run_action(a)),
                )
