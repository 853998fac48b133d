"""`workbench`: the command line. Every command imports what it needs when it runs,
so `workbench --help` stays fast (no textual, uvicorn, pydantic at start-up)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

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


def check(task, store=None) -> None:
    """`validate`'s checks (every bot built, the study loaded; workbench/services/preflight.py),
    run by `validate`, `open`, `chat`, `test` and `serve` before they start: exit 2 with every
    problem named (file:line key: what was expected). ``store``: where the bots are built
    (default: the task's own, so the command that follows reuses them)."""
    from workbench.cli.render import show_problems
    from workbench.problems import TaskError
    from workbench.services.preflight import errors, preflight

    problems = preflight(task, store)
    if problems:
        show_problems(TaskError(problems))
    if errors(problems):
        raise typer.Exit(2)


@app.command("open")
def open_(
    task: TaskArg,
    conversation: Annotated[str | None, typer.Option("--conversation", help="Open this stored conversation.")] = None,
) -> None:
    """Open the TUI on a task: chat with its worlds, inspect every message and state."""
    t = load(task, quiet=True)
    from workbench.tui.app import make_app

    # the TUI paints first and runs `validate`'s checks in a worker; errors stop it and are said here
    app = make_app(t, conversation_id=conversation)
    app.run()
    if app.problems:
        from workbench.cli.render import show_problems
        from workbench.problems import TaskError

        show_problems(TaskError(app.problems))
        raise typer.Exit(2)


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
    check(t)
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

    from workbench.cli.render import console
    from workbench.cli.retrieval_view import describe, watch
    from workbench.engines.capabilities import RetrievalBot
    from workbench.store import open_store

    # every bot built on a throw-away store: tables, forms and NLU files are checked too
    matching: list[tuple[str, str, Any]] = []
    with watch(progress_bar=retrieval_wait > 0):
        check(t, open_store(":memory:"))
        for name in t.bot_configs:
            engine = t.engine(name)  # built by the check
            if isinstance(engine, RetrievalBot):
                matching += [(name, label, r) for label, r in engine.retrievers().items()]
        deadline = time.monotonic() + retrieval_wait
        for _, _, retriever in matching:
            retriever.wait(max(0.0, deadline - time.monotonic()))
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
def docs(
    topic: Annotated[
        str | None, typer.Argument(help="A topic (forms, task-yml, cli...); none lists them.", show_default=False)
    ] = None,
) -> None:
    """The documentation installed with workbench: list the topics, or print one (workbench docs forms | less)."""
    from rich.markup import escape

    from workbench.cli.render import console, err_console

    # shipped in the package (workbench/docs is the repository's docs/ folder, built into the wheel)
    folder = Path(__file__).resolve().parent.parent / "docs"
    topics = sorted(p.stem for p in folder.glob("*.md")) if folder.is_dir() else []
    if topic is None:
        console.print(f"documentation in {escape(str(folder))}:")
        for name in topics:
            console.print(f"  workbench docs {escape(name)}")
        return
    name = topic.removesuffix(".md").lower().replace("_", "-")
    if name not in topics:
        err_console.print(f"[red]error:[/red] no topic {escape(topic)!r}; topics: {escape(', '.join(topics))}")
        raise typer.Exit(2)
    console.print((folder / f"{name}.md").read_text(encoding="utf-8"), markup=False, end="")


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
    record_model: Annotated[
        bool,
        typer.Option(
            "--record-model",
            help="Model bots talk to their models; record their responses in tests/cassettes/ (replayed by default).",
        ),
    ] = False,
    live_model: Annotated[
        bool, typer.Option("--live-model", help="Model bots talk to their models; record nothing.")
    ] = False,
) -> None:
    """Run the task's conversation tests headless on a fresh store; exit 1 on any failure.
    Model bots answer from recorded responses (cassettes) unless --record-model or --live-model."""
    if record_model and live_model:
        from workbench.cli.render import err_console

        err_console.print("[red]error:[/red] --record-model and --live-model exclude each other")
        raise typer.Exit(2)
    t = load(task)
    from workbench.cli.testing import run
    from workbench.store import open_store

    scratch = open_store(":memory:")
    check(t, scratch)  # each test then runs on a fresh store of its own
    t.use_store(None)
    scratch.close()

    models = "record" if record_model else "live" if live_model else "replay"
    raise typer.Exit(run(t, files, junit, select, verbose, models))


@app.command()
def replay(
    task: TaskArg,
    conversation: Annotated[
        list[str] | None,
        typer.Option("--conversation", help="Replay this stored conversation (repeatable).", show_default=False),
    ] = None,
    last: Annotated[int | None, typer.Option("--last", help="Replay the N latest conversations.")] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Replay the conversations started on or after this date (2024-06-01).")
    ] = None,
    json_file: Annotated[Path | None, typer.Option("--json", help="Write the whole report as JSON here.")] = None,
    regenerate: Annotated[
        bool, typer.Option("--regenerate", help="Step model bots too instead of replaying their recorded replies.")
    ] = False,
) -> None:
    """What-if replay: send the person's turns of stored conversations to the bot as it is now
    (a scratch store; the task's store is not touched). Exit 1 when any conversation diverged."""
    t = load(task)
    from workbench.cli.replay_cmd import run

    raise typer.Exit(run(t, conversation, last, since, json_file, regenerate))


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
    max_body_bytes: Annotated[
        int | None,
        typer.Option(
            help="Largest REST request body read, in bytes (default: serve.max_body_bytes, 1 MiB).",
            show_default=False,
        ),
    ] = None,
    max_upload_bytes: Annotated[
        int | None,
        typer.Option(
            help="Largest table or knowledge-base upload, in bytes (default: serve.max_upload_bytes, 32 MiB).",
            show_default=False,
        ),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=256,
            help="Server processes sharing the port (SO_REUSEPORT) and the task's store; a person who reconnects to another one resumes (docs/scale.md).",
        ),
    ] = 1,
    reuse_port: Annotated[
        bool, typer.Option("--reuse-port", hidden=True, help="Bind with SO_REUSEPORT (set for each of --workers).")
    ] = False,
) -> None:
    """Run the task's worlds headless: HTTP, websocket, browser page and the REST API on one server."""
    t = load(task)
    check(t)
    settings: dict = {
        "max_frame_bytes": max_frame_bytes,
        "rate_limit": rate_limit,
        "idle_timeout": idle_timeout,
        "handshake_timeout": handshake_timeout,
        "keep_alive_timeout": keep_alive_timeout,
        "max_connections": max_connections,
        "max_detached": max_detached,
        "max_detached_per_client": max_detached_per_client,
        "max_body_bytes": max_body_bytes,
        "max_upload_bytes": max_upload_bytes,
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
    if workers > 1:
        import sys

        from workbench.services.server_logs import log_workbench
        from workbench.services.workers import Supervisor, worker_command

        log_workbench(log_level)
        raise typer.Exit(Supervisor(worker_command(sys.argv[1:]), workers).run())
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
                reuse_port=reuse_port,
            )
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    raise typer.Exit(code)


def _mount_optional() -> None:
    """Sub-command groups that live in their own modules (kept cheap to import)."""
    from workbench.cli.history_cmd import app as history_app

    app.add_typer(history_app, name="history", help="The engine-state history the debugger steps through.")
    try:
        from workbench.cli.table_cmd import app as table_app
    except ImportError:
        return
    app.add_typer(table_app, name="table", help="Import, export and check decision tables.")
    from workbench.cli.store_cmd import app as store_app

    app.add_typer(store_app, name="store", help="Move a task's data between SQLite and PostgreSQL.")
    from workbench.cli.index_cmd import app as index_app

    app.add_typer(index_app, name="index", help="Build and check the retrieval index (Elasticsearch, OpenSearch).")
    try:
        from workbench.cli.eval_cmd import app as eval_app
    except ImportError:
        return
    app.add_typer(eval_app, name="eval", help="Human evaluation studies: admins, report, exports, Mechanical Turk.")


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
