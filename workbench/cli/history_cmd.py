"""`workbench history prune TASK`: forget old engine-state history (docs/debugging.md).

Every turn keeps the state it produced so the debugger can step back to it; old entries can
go by age (``--older-than DAYS``) or count (``--keep N`` per conversation and bot). The
current state of each conversation is never touched. Exit codes: 0 done, 2 bad usage.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="The engine-state history the debugger steps through.",
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


@app.command()
def prune(
    task: Annotated[Path, typer.Argument(help="The task directory.", show_default=False)],
    older_than: Annotated[
        float | None, typer.Option("--older-than", help="Forget entries older than this many days.", min=0)
    ] = None,
    keep: Annotated[
        int | None, typer.Option("--keep", help="Keep only the latest N entries of each conversation and bot.", min=0)
    ] = None,
) -> None:
    """Forget old state history (by age, by count or both); current states stay."""
    from rich.markup import escape

    from workbench.cli.main import load
    from workbench.cli.render import console, err_console

    if older_than is None and keep is None:
        err_console.print("[red]error:[/red] say what to prune: --older-than DAYS, --keep N, or both")
        raise typer.Exit(2)
    t = load(task)
    before = time.time() - older_than * 86400 if older_than is not None else None
    gone = t.store.prune_state_history(before=before, keep=keep)
    noun = "entry" if gone == 1 else "entries"
    console.print(f"pruned {gone} state history {noun} from {escape(str(t.store.path))}")
