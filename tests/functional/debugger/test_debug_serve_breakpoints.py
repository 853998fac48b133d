"""Breakpoints on the served bot from the TUI's serve screen: a websocket person's turn is held
(a real server on 127.0.0.1 and a real client), the held turn listed, continued with `c`."""

from __future__ import annotations

from pathlib import Path

from support import copy_sample, free_port, until
from support.servers import connect
from support.tui import open_serve, start_serving

from workbench.runtime.debugger import Breakpoint
from workbench.screens.breakpoints import BreakpointsScreen
from workbench.tui.app import make_app

SIZE = (160, 48)


async def test_a_websocket_turn_held_and_continued_from_the_serve_screen(tmp_path: Path, store) -> None:
    app = make_app(copy_sample("helpdesk", tmp_path), store)
    async with app.run_test(size=SIZE) as pilot:
        port = free_port()
        screen = await open_serve(pilot, app, port)
        await start_serving(pilot, screen)
        await pilot.press("f12")
        await until(pilot, lambda: isinstance(app.screen, BreakpointsScreen), what="the breakpoints screen")
        points = app.screen
        runner = screen.live.runner
        assert points.runner is runner
        runner.breakpoints.add(Breakpoint("fallback"))
        points.refresh_lists()
        async with connect(f"ws://127.0.0.1:{port}/websocket") as client:
            await client.send({"text": ""})
            await client.text("Hello and welcome")
            await client.send({"text": "is there a mobile app"})
            await until(pilot, lambda: points.query_one("#bp-paused").row_count == 1, what="the held turn listed")
            await pilot.press("c")
            await client.text("I do not understand your input")
        assert runner.breakpoints.paused == {}
