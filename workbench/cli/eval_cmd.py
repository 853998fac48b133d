"""`workbench eval`: accounts, statistics, reports, exports and crowd HITs of a study.

Exit codes: 0 done, 1 failed (Mechanical Turk refused...), 2 invalid input (a task
without an evaluation section, a refused password). Heavy imports happen inside the
commands, so mounting this app costs `workbench --help` nothing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(
    help="Human evaluation studies: admins, statistics, report, exports, Mechanical Turk HITs.",
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
admin_app = typer.Typer(help="Admin accounts.", no_args_is_help=True, add_completion=False, rich_markup_mode=None)
app.add_typer(admin_app, name="admin")

TaskArg = Annotated[Path, typer.Argument(help="The task directory (or its task.yml / conf.yml).", show_default=False)]


def _fail(message: str, code: int = 2) -> None:
    from rich.markup import escape

    from workbench.cli.render import err_console

    err_console.print(f"[red]error:[/red] {escape(message)}", highlight=False)
    raise typer.Exit(code)


def _study(path: Path) -> Any:
    from workbench.cli.main import load
    from workbench.cli.render import show_problems
    from workbench.evaluation import Study, StudyError
    from workbench.task import TaskError

    task = load(path, quiet=True)
    try:
        return Study(task, task.store)
    except StudyError as exc:
        _fail(exc.message)
    except TaskError as exc:
        show_problems(exc)
        raise typer.Exit(2) from None


@admin_app.command("create")
def admin_create(
    task: TaskArg,
    name: Annotated[str, typer.Argument(help="The admin's account name.", show_default=False)],
    password_env: Annotated[
        str | None,
        typer.Option("--password-env", help="Read the password from this environment variable instead of asking."),
    ] = None,
) -> None:
    """Create an admin account (or set its password). The password is asked for, never an argument."""
    from workbench.cli.render import console
    from workbench.evaluation.people import PasswordRefused, ensure_admin

    study = _study(task)
    if password_env:
        password = os.environ.get(password_env, "")
        if not password:
            _fail(f"the environment variable {password_env} is empty or unset")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        account = ensure_admin(study.store, name, password)
    except PasswordRefused as exc:
        _fail(str(exc))
    console.print(f"admin {account.id!r} is ready", markup=False, highlight=False)


def _print_stats(study: Any, stats: Any) -> None:
    from rich.table import Table

    from workbench.cli.render import console
    from workbench.evaluation.report import fmt, fmt_ci
    from workbench.evaluation.statistics import reading

    console.print(f"{study.name}: {stats.threads} thread(s), {stats.done} rated", markup=False, highlight=False)
    progress = study.progress()
    table = Table(title="Progress per topic")
    for col in ("topic", "chatting", "rating", "done"):
        table.add_column(col)
    for topic, counts in progress.per_topic.items():
        table.add_row(topic, *(str(counts.get(s, 0)) for s in ("chatting", "rating", "done")))
    console.print(table)
    table = Table(title="Ratings")
    for col in ("question", "bot", "n", "mean", "95% interval", "answers"):
        table.add_column(col)
    for r in stats.questions:
        label = r.question.question + (" (each message)" if r.per_turn else "")
        answers = ", ".join(f"{k}: {v}" for k, v in r.distribution.items()) or f"{len(r.texts)} text(s)"
        table.add_row(label, r.bot, str(r.n), fmt(r.mean), fmt_ci(r.ci), answers)
    console.print(table)
    table = Table(title="Agreement (Krippendorff's alpha)")
    for col in ("question", "level", "alpha", "units", "raters", "reading"):
        table.add_column(col)
    for a in stats.alphas:
        table.add_row(
            a.question.question, a.level or "", fmt(a.alpha, 3), str(a.units), str(a.raters), a.note or reading(a.alpha)
        )
    console.print(table)
    table = Table(title="Workers")
    for col in ("worker", "threads", "ratings", "pairs", "exact agreement", "alpha without them"):
        table.add_column(col)
    for w in stats.workers:
        table.add_row(w.person, str(w.threads), str(w.ratings), str(w.pairs), fmt(w.agreement), fmt(w.alpha_without, 3))
    console.print(table)


@app.command()
def report(
    task: TaskArg,
    html: Annotated[
        Path | None, typer.Option("--html", help="Where to write the HTML report (default: TASK/exports/report.html).")
    ] = None,
) -> None:
    """Print the study's statistics and write a self-contained HTML report with charts."""
    from workbench.cli.render import console
    from workbench.evaluation.export import write_atomic
    from workbench.evaluation.report import render_html
    from workbench.evaluation.statistics import compute
    from workbench.store.private import private_folder

    study = _study(task)
    stats = compute(study)
    _print_stats(study, stats)
    target = html or study.task.path("exports") / "report.html"
    private_folder(target.parent)
    write_atomic(target, render_html(study, stats))
    console.print(f"report written to {target}", markup=False, highlight=False)


@app.command("export")
def export_(
    task: TaskArg,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Folder (default: TASK/exports/evaluation).")] = None,
) -> None:
    """Export threads with messages and ratings: threads.jsonl, messages.csv, ratings.csv and
    one JSON file per thread in boteval's shape (threads/)."""
    from workbench.cli.render import console
    from workbench.evaluation.export import export_study

    study = _study(task)
    summary = export_study(study, out or study.task.path("exports") / "evaluation")
    console.print(f"exported {summary.threads} thread(s) to {summary.folder}", markup=False, highlight=False)


@app.command()
def mturk(
    task: TaskArg,
    yes: Annotated[bool, typer.Option("--yes", help="Create HITs on the live marketplace without asking.")] = False,
) -> None:
    """Create a Mechanical Turk HIT per topic (sandbox or live, from evaluation.mturk)."""
    from workbench.cli.render import console
    from workbench.evaluation.mturk import MturkError, create_hits

    study = _study(task)
    spec = study.spec.mturk
    if spec is None:
        _fail("the evaluation section has no mturk: settings")
    if not spec.sandbox and not yes and not typer.confirm("Create HITs on the LIVE marketplace (real money)?"):
        raise typer.Exit(1)
    try:
        hits = create_hits(study)
    except MturkError as exc:
        _fail(str(exc), code=1)
    for hit in hits:
        state = "created" if hit.created else "exists"
        console.print(f"{hit.topic}: {hit.hit_id} ({state})", markup=False, highlight=False)
