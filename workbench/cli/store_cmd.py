"""`workbench store copy FROM TO` and `workbench store info STORE`: a task's data between SQLite
and PostgreSQL (docs/scale.md).

FROM and TO are each a task directory (its ``storage:``, or WORKBENCH_STORE_URL), a SQLite file,
or a PostgreSQL URL (``postgresql://user@host/db?schema=name``; the password from
WORKBENCH_STORE_PASSWORD or PGPASSWORD). Exit codes: 0 done, 1 the copy failed (a store could
not be opened or written), 2 invalid input (the destination is not empty, an unknown task).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(
    help="Move a task's data between stores (SQLite, PostgreSQL).",
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)

StoreArg = Annotated[
    str,
    typer.Argument(
        help="A task directory (its store), a SQLite file or a postgresql:// URL.", show_default=False, metavar="STORE"
    ),
]


def _fail(message: str, code: int) -> None:
    from rich.markup import escape

    from workbench.cli.render import err_console

    err_console.print(f"[red]error:[/red] {escape(message)}", highlight=False)
    raise typer.Exit(code)


def _target(value: str) -> str | Path:
    """What ``value`` names: a PostgreSQL URL, a task's store, or a SQLite file."""
    from workbench.store.settings import is_postgres

    if is_postgres(value):
        return value
    path = Path(value)
    if path.is_dir() or path.name in ("task.yml", "config.yml", "conf.yml", "domain.yml"):
        from workbench.task import TaskError, load_task

        try:
            return load_task(path).store_target
        except TaskError as exc:
            _fail("; ".join(str(p) for p in exc.problems), 2)
    return path


def _open(value: str, create: bool) -> Any:
    from workbench.store import open_store
    from workbench.store.settings import without_password

    target = _target(value)
    if isinstance(target, Path) and not create and not target.exists():
        _fail(f"{target}: no such store", 2)
    try:
        return open_store(target)
    except Exception as exc:  # a server that refuses, a file that is not a store: said, not a traceback
        _fail(f"{without_password(str(target))}: cannot open the store: {type(exc).__name__}: {exc}", 1)


@app.command()
def copy(source: StoreArg, destination: StoreArg) -> None:
    """Copy every conversation, message, engine state, table, knowledge base, study and replay
    record from SOURCE into the empty DESTINATION (ids, numbers and revisions unchanged)."""
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from workbench.cli.render import console
    from workbench.store.copy import NotEmpty, copy_store

    src = _open(source, create=False)
    dst = _open(destination, create=True)
    try:
        with Progress(
            TextColumn("{task.description:<14}"), BarColumn(), MofNCompleteColumn(), console=console
        ) as progress:
            bars: dict[str, Any] = {}

            def advance(table: str, done: int, total: int) -> None:
                if table not in bars:
                    bars[table] = progress.add_task(table, total=max(total, 1))
                progress.update(bars[table], completed=done if total else 1)

            try:
                done = copy_store(src, dst, progress=advance)
            except NotEmpty as exc:
                _fail(str(exc), 2)
            except Exception as exc:
                _fail(f"the copy failed: {type(exc).__name__}: {exc}", 1)
        rows = sum(done.values())
        console.print(
            escape(f"copied {rows} rows ({done['conversations']} conversations, {done['messages']} messages) from ")
            + escape(f"{src.path} to {dst.path}"),
            highlight=False,
        )
    finally:
        src.close()
        dst.close()


@app.command()
def info(store: StoreArg) -> None:
    """Where a store is, its schema version and how many rows each table holds."""
    from rich.markup import escape

    from workbench.cli.render import console
    from workbench.store.copy import totals

    opened = _open(store, create=False)
    try:
        console.print(escape(f"{opened.path}: schema version {opened.schema_version}"), highlight=False)
        for table, n in totals(opened).items():
            console.print(f"  {table:<14} {n}", highlight=False)
    finally:
        opened.close()
