"""`workbench index sync TASK` and `workbench index check TASK`: the task's retrieval index against
its store (docs/scale.md).

``sync`` rebuilds every decision-table and knowledge-base collection from the store, with a
progress bar, into new indices swapped in at once (searches never see a half-built collection).
``check`` reports the cluster's health and, per collection, the documents and store revision the
index holds against what the store has. Exit codes: 0 in step (or done), 1 out of step or the
server failed, 2 invalid input (an unknown task or bot).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(
    help="Build and check the task's retrieval index (embedded, Elasticsearch or OpenSearch).",
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)

TaskArg = Annotated[Path, typer.Argument(help="The task directory (or its task.yml).", show_default=False)]
BotOpt = Annotated[
    str | None, typer.Option("--bot", help="Only this bot (default: every bot with a table or a knowledge base).")
]


def _fail(message: str, code: int) -> None:
    from rich.markup import escape

    from workbench.cli.render import err_console

    err_console.print(f"[red]error:[/red] {escape(message)}", highlight=False)
    raise typer.Exit(code)


def _collections(task_path: Path, bot: str | None, engines: bool) -> tuple[Any, list[tuple[str, Any, Any]]]:
    """The task and its (collection, source, document set) triples: each table and knowledge base.
    With ``engines`` the bots are built first (tables and knowledge bases seeded from their files,
    as `serve` does); without, they are read from the store as they are (building the engines
    would bring the index up to date, hiding what a check is for)."""
    from workbench.engines.capabilities import KnowledgeBot, TableBot, bots_with
    from workbench.engines.decision_table.table import DecisionTable
    from workbench.engines.knowledge_base import KnowledgeBase
    from workbench.task import TaskError, load_task

    try:
        task = load_task(task_path)
    except TaskError as exc:
        _fail("; ".join(str(p) for p in exc.problems), 2)
    if bot is not None and bot not in task.bot_configs:
        _fail(f"no bot named {bot!r}; bots: {', '.join(task.bot_configs) or 'none'}", 2)
    found: list[tuple[str, Any, Any]] = []
    try:
        store = task.store
        if engines:
            for name in task.bot_configs:
                if bot in (None, name):
                    task.engine(name)
        for name in bots_with(task, TableBot):
            if bot in (None, name):
                table = DecisionTable(store, None, name)
                found.append((table.collection, table, table.docs))
        for name in bots_with(task, KnowledgeBot):
            if bot in (None, name) and store.documents(f"knowledge_base:{name}").count():
                kb = KnowledgeBase(store, task.index, name, sync=False)
                found.append((kb.collection, kb, kb.docs))
    except Exception as exc:  # the store or the server could not be reached, say
        _close(task)
        _fail(f"{type(exc).__name__}: {exc}", 1)
    if bot is not None and not found:
        _close(task)
        _fail(f"bot {bot!r} has no decision table or knowledge base", 2)
    return task, found


def _close(task: Any) -> None:
    if task._index is not None:
        task.index.close()
    if task._store is not None:
        task.store.close()


@app.command()
def sync(task: TaskArg, bot: BotOpt = None) -> None:
    """Rebuild every table and knowledge-base collection from the store (new indices, swapped in at once)."""
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from workbench.cli.render import console
    from workbench.engines.mirror import identity, stamp

    t, collections = _collections(task, bot, engines=True)
    try:
        index = t.index
        with Progress(TextColumn("{task.description:<32}"), BarColumn(), MofNCompleteColumn(), console=console) as bar:
            for collection, source, docs in collections:
                revision = docs.revision()
                documents = source.documents()
                job = bar.add_task(collection, total=max(len(documents), 1))
                index.rebuild(
                    collection,
                    documents,
                    stamp=stamp(identity(docs), revision),
                    progress=lambda n, job=job: bar.update(job, completed=n),
                )
                bar.update(job, completed=max(len(documents), 1))
        console.print(escape(f"{len(collections)} collection(s) rebuilt in the {index.name} index"), highlight=False)
    except Exception as exc:
        _fail(f"the sync failed: {type(exc).__name__}: {exc}", 1)
    finally:
        _close(t)


@app.command()
def check(task: TaskArg, bot: BotOpt = None) -> None:
    """The cluster's health and, per collection, documents and revision in the index against the store."""
    from rich.markup import escape

    from workbench.cli.render import console
    from workbench.engines.mirror import identity, stamped_revision

    t, collections = _collections(task, bot, engines=False)
    healthy = True
    try:
        index = t.index
        health = index.health() if hasattr(index, "health") else {"status": "embedded (in this process)"}
        console.print(escape(f"index: {index.name}, cluster status: {health.get('status')}"), highlight=False)
        if health.get("status") == "red":
            healthy = False
        for collection, source, docs in collections:
            expected, held = len(source.documents()), index.count(collection)
            revision = docs.revision()
            mirrored = stamped_revision(index.stamp(collection), identity(docs, create=False))
            ok = expected == held and mirrored in (None, revision)
            healthy = healthy and ok
            mark = "ok" if ok else "OUT OF STEP"
            shown = "-" if mirrored is None else str(mirrored)
            console.print(
                escape(
                    f"  {collection:<32} {held:>7} documents (store: {expected}), revision {shown} "
                    f"(store: {revision})  {mark}"
                ),
                highlight=False,
            )
    except Exception as exc:
        _fail(f"the check failed: {type(exc).__name__}: {exc}", 1)
    finally:
        _close(t)
    if not healthy:
        console.print("run `workbench index sync` to rebuild what is out of step", highlight=False)
    raise typer.Exit(0 if healthy else 1)
