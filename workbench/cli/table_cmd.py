"""`workbench table import|export|check TASK FILE`: decision tables in and out of a task's store.

Exit codes: 0 done, 1 failed (the store could not be written...), 2 invalid input
(a defective file, an unknown task or bot). Errors name file, row and column.
Everything heavy is imported inside the commands, so mounting this app costs
`workbench --help` nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(
    help="Import, export and check decision tables (starchat CSV layouts or JSON).",
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)

TaskArg = Annotated[Path, typer.Argument(help="The task directory (or its task.yml).", show_default=False)]
BotOpt = Annotated[str | None, typer.Option("--bot", help="The decision_table bot (needed when the task has several).")]


def escape(text: str) -> str:
    """``text`` shown literally: Rich markup such as ``[red]`` in a file is printed, not obeyed."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def _consoles():
    from workbench.cli.render import console, err_console

    return console, err_console


def _fail(message: str, code: int = 2) -> None:
    _, err = _consoles()
    err.print(f"[red]error:[/red] {escape(message)}")
    raise typer.Exit(code)


def _task(path: Path) -> Any:
    from workbench.task import TaskError, load_task

    try:
        return load_task(path)
    except TaskError as exc:
        _, err = _consoles()
        for p in exc.problems:
            err.print(f"[red]error:[/red] {escape(str(p))}")
        raise typer.Exit(2) from None


def _bot(task: Any, bot: str | None) -> str:
    from workbench.runtime.editing import BotEditor

    bots = BotEditor(task).table_bots()
    if bot is not None:
        if bot not in bots:
            _fail(f"{task.file}: no decision_table bot named {bot!r}; decision_table bots: {', '.join(bots) or 'none'}")
        return bot
    if not bots:
        _fail(f"{task.file}: this task has no bot with a decision table (`engine: decision_table`)")
    if len(bots) > 1:
        _fail(f"{task.file}: several bots have a decision table ({', '.join(bots)}); choose one with --bot")
    return bots[0]


def _read(file: Path):
    from workbench.engines.decision_table.table_io import UNREADABLE, read_file

    read = read_file(file)
    if read.layout == UNREADABLE:  # missing, not a regular file, too large, not UTF-8
        _fail("; ".join(str(p) for p in read.problems))
    return read


def _show_problems(read: Any) -> None:
    """One line per problem (file, row, line, column, character: what is wrong), errors first."""
    _, err = _consoles()
    for p in sorted(read.problems, key=lambda p: (p.severity != "error", p.row or 0)):
        kind = "[red]error:[/red]" if p.severity == "error" else "[yellow]warning:[/yellow]"
        err.print(f"{kind} {escape(str(p))}")


def _editor(task: Any, bot: str) -> Any:
    """The task's bot editor with ``bot``'s table open (seeded from task.yml's file if it
    never was); a defective seed file is an error that says how to check it."""
    from workbench.problems import TaskError
    from workbench.runtime.editing import BotEditor

    editor = BotEditor(task)
    try:
        editor.table(bot)
    except TaskError as exc:  # a defective table, or one that cannot be read
        _, err = _consoles()
        from rich.markup import escape

        seed = task.path(task.bot_configs[bot].table)
        err.print(
            f"[red]error:[/red] the task's own table {escape(str(seed))} has defects; fix them first "
            f"(`workbench table check {escape(str(task.root))} {escape(str(seed))}`):"
        )
        for p in exc.problems:
            err.print(f"  {escape(str(p))}")
        raise typer.Exit(2) from None
    return editor


@app.command("check")
def check(
    task: TaskArg,
    file: Annotated[Path, typer.Argument(help="The table to check (CSV or JSON).", show_default=False)],
    load: Annotated[
        bool, typer.Option("--load", help="Load the valid rows into the task's store (defective rows are left out).")
    ] = False,
    replace: Annotated[
        bool, typer.Option("--replace", help="With --load: the valid rows replace the whole table.")
    ] = False,
    bot: BotOpt = None,
) -> None:
    """Report every defect of a table file (row, column, character); exit 2 if it has errors."""
    t = _task(task)
    name = _bot(t, bot)
    read = _read(file)
    out, _ = _consoles()
    _show_problems(read)
    out.print(escape(f"{file}: {read.layout}, {len(read.states)} valid state(s), {read.rejected} defective row(s)"))
    if load:
        editor = _editor(t, name)
        editor.import_states(name, read.states, replace=replace)
        out.print(
            escape(
                f"loaded {len(read.states)} state(s) into bot {name!r} ({t.store_path}); "
                f"the table has {len(editor.table(name))} state(s)"
            )
        )
    raise typer.Exit(2 if read.errors else 0)


@app.command("import")
def import_(
    task: TaskArg,
    file: Annotated[
        Path, typer.Argument(help="The table to import (CSV in any starchat layout, or JSON).", show_default=False)
    ],
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="Load the valid rows even if some rows are defective.")
    ] = False,
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace the whole table (default: add and update states).")
    ] = False,
    bot: BotOpt = None,
) -> None:
    """Import states into the task's store; conversations see them on their next turn."""
    t = _task(task)
    name = _bot(t, bot)
    read = _read(file)
    out, err = _consoles()
    if read.errors and not skip_invalid:
        _show_problems(read)
        err.print("nothing was imported; fix the rows above, or pass --skip-invalid to load the valid ones")
        raise typer.Exit(2)
    _show_problems(read)
    try:
        editor = _editor(t, name)
        editor.import_states(name, read.states, replace=replace)
    except OSError as exc:
        _fail(f"{t.store_path}: cannot write the store: {exc}", code=1)
    how = "replaced the table with" if replace else "imported"
    out.print(
        escape(
            f"{how} {len(read.states)} state(s) from {file} ({read.layout}) into bot {name!r}; "
            f"the table now has {len(editor.table(name))} state(s)"
        )
    )
    if read.errors:
        out.print(f"{read.rejected} defective row(s) skipped")


@app.command("export")
def export(
    task: TaskArg,
    file: Annotated[
        Path, typer.Argument(help="Where to write: a .csv or .json file, or - for standard output.", show_default=False)
    ],
    fmt: Annotated[
        str | None, typer.Option("--format", help="csv or json (default: from the file's extension).")
    ] = None,
    raw: Annotated[
        bool,
        typer.Option(
            "--raw",
            help="CSV: write cells as they are. By default a cell starting with = + - @ or a tab gets a "
            "leading ' so that a spreadsheet does not run it as a formula; use --raw for a file to import again.",
        ),
    ] = False,
    bot: BotOpt = None,
) -> None:
    """Write the task's current table (the store's, with every edit) as CSV or JSON."""
    t = _task(task)
    name = _bot(t, bot)
    kind = (fmt or ("json" if file.suffix.lower() == ".json" else "csv")).lower()
    if kind not in ("csv", "json"):
        _fail(f"--format must be csv or json, not {kind!r}")
    editor = _editor(t, name)
    text = editor.export_table(name, kind, raw=raw)
    if str(file) == "-":
        typer.echo(text, nl=False)
        return
    from workbench.store.private import write_private

    try:
        write_private(file, text)  # the table may hold what people said: owner only
    except OSError as exc:
        _fail(f"{file}: cannot write: {exc}", code=1)
    _, err = _consoles()
    err.print(escape(f"wrote {len(editor.table(name))} state(s) of bot {name!r} to {file} ({kind})"))
