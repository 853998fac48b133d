"""The browser chat page at ``/``: plain HTML, CSS and JS shipped in ``services/web/``.

The page speaks the websocket protocol of :mod:`workbench.services.websocket`
with the opt-in ``hello`` (so a reload or a dropped connection resumes the
same conversation); nothing is built or bundled. Its Content-Security-Policy lets
it load images only from this server and ``data:`` (``https:`` too when the task
sets ``serve.remote_images``), so no message can make a person's browser call
another site.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

WEB = Path(__file__).with_name("web")


def routes(ctx: Any) -> list:
    from starlette.responses import HTMLResponse, Response
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    remote = bool(ctx.serve_spec().remote_images)
    page = (
        (WEB / "index.html")
        .read_text(encoding="utf-8")
        .replace("{{title}}", html.escape(ctx.task.name))
        .replace("{{remote_images}}", "true" if remote else "false")
    )
    images = "'self' data: https:" if remote else "'self' data:"

    async def index(request: Any) -> HTMLResponse:
        host = request.headers.get("host", "")
        policy = (
            f"default-src 'self'; img-src {images}; style-src 'self'; script-src 'self'; "
            f"connect-src 'self' ws://{host} wss://{host}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        )
        return HTMLResponse(page, headers={"Cache-Control": "no-cache", "Content-Security-Policy": policy})

    favicon = (WEB / "favicon.svg").read_bytes()

    async def favicon_ico(request: Any) -> Response:
        # browsers ask for /favicon.ico whatever the page's <link rel="icon"> says
        return Response(favicon, media_type="image/svg+xml", headers={"Cache-Control": "max-age=86400"})

    return [
        Route("/", index, methods=["GET"]),
        Route("/favicon.ico", favicon_ico, methods=["GET"]),
        Mount("/web", app=StaticFiles(directory=str(WEB)), name="web"),
    ]
