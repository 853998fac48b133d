"""`workbench`: the command line. Every command imports what it needs when it runs,
so `workbench --help` stays fast (no textual, uvicorn, pydantic at start-up)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from workbench import __version__

app = typer.Typer(
    name="workbench",
    help="Build, debug, serve and evaluate chatbots from one task directory.",
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)

TaskArg = Annotated[Path, typer.Argument(help="The task directory (or its task.yml / config.yml).", show_default=False)]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"workbench {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool | None, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = None,
) -> None:
    """Build, debug, serve and evaluate chatbots from one task directory."""


def load(task_path: Path, quiet: bool = False):
    """Load a task or exit 2 with every problem named (file:line key: what was expected)."""
    from rich.markup import escape

    from workbench.cli.render import err_console, show_problems
    from workbench.task import TaskError, load_task

    try:
        task = load_task(task_path)
    except TaskError as exc:
        show_problems(exc)
        raise typer.Exit(2) from None
    if not quiet:
        for w in task.warnings:
            err_console.print(f"[yellow]warning:[/yellow] {escape(str(w))}", highlight=False)
    return task


@app.command("open")
def open_(
    task: TaskArg,
    conversation: Annotated[str | None, typer.Option("--conversation", help="Open this stored conversation.")] = None,
) -> None:
    """Open the TUI on a task: chat with its worlds, inspect every message and state."""
    t = load(task, quiet=True)
    from workbench.tui.app import WorkbenchApp

    WorkbenchApp(t, conversation_id=conversation).run()


@app.command()
def chat(
    task: Annotated[Path | None, typer.Argument(help="The task directory.", show_default=False)] = None,
    resume: Annotated[
        str | None,
        typer.Option("--resume", help="Resume a stored conversation: its id, or the latest when no id is given."),
    ] = None,
    record: Annotated[
        Path | None, typer.Option("--record", help="Save this chat as a conversation test (YAML).")
    ] = None,
    connect: Annotated[str | None, typer.Option("--connect", help="Chat with a running server: ws://HOST:PORT")] = None,
    person: Annotated[str | None, typer.Option("--as", help="Your name in the conversation.")] = None,
) -> None:
    """Chat in the terminal. Reads standard input, so it can be scripted:
    printf 'hello\\n' | workbench chat sample_tasks/echo"""
    from workbench.cli.chat import run_local, run_remote

    if connect:
        raise typer.Exit(run_remote(connect, record=record))
    if task is None:
        from workbench.cli.render import err_console

        err_console.print("[red]error:[/red] give a TASK directory, or --connect ws://HOST:PORT")
        raise typer.Exit(2)
    t = load(task)
    from workbench.cli.retrieval_view import watch

    with watch():
        code = run_local(t, resume=resume, record=record, person=person)
    raise typer.Exit(code)


@app.command()
def validate(
    task: TaskArg,
    retrieval_wait: Annotated[
        float,
        typer.Option(
            "--retrieval-wait",
            help="Seconds to wait for the embedding model and the calibrated thresholds (0: do not wait).",
        ),
    ] = 300.0,
) -> None:
    """Check a task: exit 0 when valid (warnings allowed), 2 when invalid. Shows how each bot
    matches a person's words and the threshold it uses (calibrated on its examples)."""
    t = load(task)
    import time

    from rich.markup import escape

    from workbench.cli.render import console, show_problems
    from workbench.cli.retrieval_view import describe, watch
    from workbench.engines.capabilities import RetrievalBot
    from workbench.store import open_store
    from workbench.task import TaskError

    # build every bot on a throw-away store: tables, forms and NLU files are checked too
    t.use_store(open_store(":memory:"))
    failed = False
    matching: list[tuple[str, str, object]] = []
    with watch(progress_bar=retrieval_wait > 0):
        for name in t.bot_configs:
            try:
                engine = t.engine(name)
                if isinstance(engine, RetrievalBot):
                    matching += [(name, label, r) for label, r in engine.retrievers().items()]
            except TaskError as exc:
                show_problems(exc)
                failed = True
            except Exception as exc:  # an engine that cannot start is invalid input, not a crash
                show_problems(ValueError(f"{t.file}: bots.{name}: cannot start this bot: {exc}"))
                failed = True
        if failed:
            raise typer.Exit(2)
        deadline = time.monotonic() + retrieval_wait
        for _, _, retriever in matching:
            retriever.wait(max(0.0, deadline - time.monotonic()))  # type: ignore[attr-defined]
    bots = ", ".join(f"{n} ({c.engine})" for n, c in t.bot_configs.items()) or "none"
    summary = f"{t.name} ({t.format}: {t.file}) worlds: {', '.join(t.worlds)}; bots: {bots}"
    console.print(f"[green]ok[/green] {escape(summary)}")
    for name, label, retriever in matching:
        console.print(escape(f"  {name} {describe(label, retriever)}"))


@app.command()
def new(
    directory: Annotated[Path, typer.Argument(help="Where to create the task.", show_default=False)],
    force: Annotated[bool, typer.Option("--force", help="Write into an existing, non-empty directory.")] = False,
) -> None:
    """Scaffold a task that runs: task.yml, worlds.py, a conversation test, .gitignore."""
    from rich.markup import escape

    from workbench.cli.render import console, err_console
    from workbench.task.scaffold import scaffold

    try:
        written = scaffold(directory, force=force)
    except FileExistsError as exc:
        err_console.print(f"[red]error:[/red] {escape(str(exc))} (use --force to write anyway)")
        raise typer.Exit(2) from None
    for p in written:
        console.print(f"created {escape(str(p))}")
    where = escape(str(directory))
    console.print(f"Try it: workbench chat {where}   or   workbench open {where}")


@app.command()
def export(
    task: TaskArg,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Folder for the export (default: TASK/exports).")
    ] = None,
) -> None:
    """Export every conversation: conversations.jsonl (one a line) and one JSON file each."""
    t = load(task)
    from rich.markup import escape

    from workbench.cli.render import console
    from workbench.store.export import export_conversations

    folder = out or t.path("exports")
    n = export_conversations(t.store, folder)
    console.print(f"exported {n} conversation(s) to {escape(str(folder))}")


@app.command("test")
def test_(
    task: TaskArg,
    files: Annotated[
        list[Path] | None, typer.Argument(help="Test files (default: the task's tests/ folder).", show_default=False)
    ] = None,
    junit: Annotated[Path | None, typer.Option("--junit", help="Write a JUnit XML report here.")] = None,
    select: Annotated[str | None, typer.Option("-k", help="Run only tests whose name contains this.")] = None,
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="Show each transcript.")] = False,
) -> None:
    """Run the task's conversation tests headless on a fresh store; exit 1 on any failure."""
    t = load(task)
    from workbench.cli.testing import run

    raise typer.Exit(run(t, files, junit, select, verbose))


@app.command()
def serve(
    task: TaskArg,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (34596 is ParlAI's default).")] = 34596,
    password: Annotated[str | None, typer.Option(help="A password people must send first.")] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
    allow_origin: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-origin",
            help="A browser origin allowed to open the websocket besides the server's own (repeatable; * for any); adds to serve.allowed_origins.",
            show_default=False,
        ),
    ] = None,
    max_frame_bytes: Annotated[
        int | None,
        typer.Option(
            help="Largest websocket frame accepted, in bytes (default: serve.max_frame_bytes, 65536).",
            show_default=False,
        ),
    ] = None,
    rate_limit: Annotated[
        float | None,
        typer.Option(
            help="Messages per second one connection may send, 0 for no limit (default: serve.rate_limit).",
            show_default=False,
        ),
    ] = None,
    idle_timeout: Annotated[
        float | None,
        typer.Option(
            help="Seconds without a frame before a websocket is closed, 0 for never (default: serve.idle_timeout).",
            show_default=False,
        ),
    ] = None,
    handshake_timeout: Annotated[
        float | None,
        typer.Option(
            help="Seconds a new connection has to send its request headers, then a websocket its first frame, 0 for no limit (default: serve.handshake_timeout, 10).",
            show_default=False,
        ),
    ] = None,
    keep_alive_timeout: Annotated[
        float | None,
        typer.Option(
            help="Seconds an idle HTTP keep-alive connection stays open (default: serve.keep_alive_timeout, 5).",
            show_default=False,
        ),
    ] = None,
    max_connections: Annotated[
        int | None,
        typer.Option(
            help="Open websockets and dropped conversations held for resuming, at most (default: serve.max_connections, 20000).",
            show_default=False,
        ),
    ] = None,
    max_detached: Annotated[
        int | None,
        typer.Option(
            help="Dropped conversations held for resuming, at most; the oldest is given up first (default: serve.max_detached, 2000).",
            show_default=False,
        ),
    ] = None,
    max_detached_per_client: Annotated[
        int | None,
        typer.Option(
            help="Dropped conversations held for resuming per client address (default: serve.max_detached_per_client, 20).",
            show_default=False,
        ),
    ] = None,
    log_messages: Annotated[
        bool,
        typer.Option(
            "--log-messages",
            help="Let --log-level debug show what people send (websocket frames); off by default so logs hold no passwords or card numbers.",
        ),
    ] = False,
) -> None:
    """Run the task's worlds headless: HTTP, websocket, browser page and the REST API on one server."""
    t = load(task)
    settings: dict = {
        "max_frame_bytes": max_frame_bytes,
        "rate_limit": rate_limit,
        "idle_timeout": idle_timeout,
        "handshake_timeout": handshake_timeout,
        "keep_alive_timeout": keep_alive_timeout,
        "max_connections": max_connections,
        "max_detached": max_detached,
        "max_detached_per_client": max_detached_per_client,
    }
    if allow_origin:
        settings["allowed_origins"] = [*t.spec.serve.allowed_origins, *allow_origin]
    from pydantic import ValidationError

    from workbench.services.server import serve_spec

    try:
        serve_spec(t, settings)
    except ValidationError as exc:
        from rich.markup import escape

        from workbench.cli.render import err_console

        for e in exc.errors():
            option = str(e["loc"][0]).replace("_", "-")
            err_console.print(f"[red]error:[/red] --{escape(option)}: {escape(str(e['msg']))}", highlight=False)
        raise typer.Exit(2) from None
    import signal

    from workbench.services.server import run_server

    def stop(sig: int, frame: object) -> None:
        raise SystemExit(0)

    # uvicorn shuts down gracefully on SIGTERM/SIGINT, then re-raises the signal to the
    # handler it found: with Python's defaults the process would die by the signal (143,
    # 130) after a clean shutdown. A stop that was asked for ends with exit code 0.
    from workbench.cli.retrieval_view import watch

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with watch():
            code = run_server(
                t,
                host=host,
                port=port,
                password=password,
                log_level=log_level,
                settings=settings,
                log_messages=log_messages,
            )
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    raise typer.Exit(code)


def _mount_optional() -> None:
    """Sub-command groups that live in their own modules (kept cheap to import)."""
    try:
        from workbench.cli.table_cmd import app as table_app
    except ImportError:
        return
    app.add_typer(table_app, name="table", help="Import, export and check decision tables.")


_mount_optional()


def _optional_values(argv: list[str]) -> list[str]:
    """``--resume`` may stand alone (the latest conversation) or take an id."""
    import os

    out = list(argv)
    for i, arg in enumerate(out):
        if arg == "--resume":
            nxt = out[i + 1] if i + 1 < len(out) else None
            if nxt is None or nxt.startswith("-") or os.path.exists(nxt):
                out.insert(i + 1, "latest")
            break
    return out


def main() -> None:
    import sys

    app(args=_optional_values(sys.argv[1:]), prog_name="workbench")
