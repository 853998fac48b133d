"""What the CLI shows of hybrid matching: encoding progress, when it answers, and thresholds.

Everything goes to standard error, so a scripted chat's standard output stays the
conversation. That the model is unavailable (and BM25 answers) is the model's own
warning in the log, said once per process. :func:`watch` shows the background work while a command runs (a
progress bar for ``validate``, one line per step for ``chat`` and ``serve``);
:func:`describe` turns a bot's retrievers into the lines ``validate`` prints.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.markup import escape

from workbench.cli.render import err_console


@contextmanager
def watch(progress_bar: bool = False) -> Iterator[None]:
    """Show retrieval events on standard error while the block runs."""
    from workbench.engines.retrieval.events import RetrievalEvent, subscribe

    lock = threading.Lock()
    said: set[tuple[str, str]] = set()
    bar: Any = None
    tasks: dict[str, Any] = {}
    if progress_bar:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=err_console,
            transient=True,
        )
        bar.start()

    def show(event: RetrievalEvent) -> None:
        with lock:
            if event.kind == "encoding":
                if bar is not None:
                    task = tasks.get(event.collection)
                    if task is None:
                        task = tasks[event.collection] = bar.add_task(f"encoding {event.collection}", total=event.total)
                    bar.update(task, completed=event.done, total=event.total)
                elif (event.collection, "encoding") not in said:
                    said.add((event.collection, "encoding"))
                    err_console.print(
                        f"[dim]{escape(event.collection)}: encoding {event.total} examples in the background "
                        "(BM25 answers meanwhile)[/dim]"
                    )
            elif event.kind == "ready" and (event.collection, "ready") not in said:
                said.add((event.collection, "ready"))
                err_console.print(f"[dim]{escape(event.collection)}: {escape(event.message)}[/dim]")

    stop: Callable[[], None] = subscribe(show)
    try:
        yield
    finally:
        stop()
        if bar is not None:
            bar.stop()


def describe(label: str, retriever: Any) -> str:
    """One line: how ``label`` is matched and the threshold it uses, with where it came from."""
    threshold = retriever.threshold()
    mode = retriever.answering()
    line = f"{label}: {mode}"
    if mode != retriever.mode:
        line += f" (wanted {retriever.mode}: {retriever.waiting_for()})"
    line += f"; threshold {threshold.value:.2f} ({threshold.source}: {threshold.detail})"
    return line
