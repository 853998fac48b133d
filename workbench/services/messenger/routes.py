"""The Messenger channel's routes (a ``ROUTE_PROVIDERS`` entry of workbench/services/server.py):
``GET`` and ``POST`` ``/webhook/messenger``; the service sends what is queued when the
server shuts down."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.services.messenger.service import MessengerService

if TYPE_CHECKING:
    from starlette.routing import BaseRoute

    from workbench.services.server import ServerContext

PATH = "/webhook/messenger"


def routes(ctx: ServerContext) -> list[BaseRoute]:
    from starlette.routing import Route

    service = MessengerService(ctx)
    ctx.shutdown_hooks.append(service.shutdown)
    return [
        Route(PATH, service.verify, methods=["GET"]),
        Route(PATH, service.receive, methods=["POST"]),
    ]
