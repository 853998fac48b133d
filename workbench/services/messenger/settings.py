"""The Messenger channel's settings: secrets and the Graph API's address from the environment
(``WORKBENCH_FB_*``, :func:`workbench.services.settings.environment`), behaviour from task.yml's
``serve.messenger`` (:class:`~workbench.task.schema.MessengerSpec`) with the server's
``settings["messenger"]`` on top. Secrets are never read from a file that may be committed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr, ValidationError

from workbench.services.settings import Environment, environment
from workbench.task.schema import MessengerSpec

if TYPE_CHECKING:
    from workbench.services.server import ServerContext

log = logging.getLogger(__name__)

DEFAULT_GRAPH_URL = "https://graph.facebook.com"
#: what belongs in the environment; given in task settings it is ignored with a warning
SECRETS = ("page_token", "app_secret", "verify_token")


@dataclass(frozen=True)
class MessengerSettings:
    """Where the Graph API is, the page's secrets (``SecretStr``: never printed), and how
    replies go out (``spec``)."""

    page_token: SecretStr | None = None
    app_secret: SecretStr | None = None
    verify_token: SecretStr | None = None
    graph_url: str = DEFAULT_GRAPH_URL
    graph_version: str = MessengerSpec().graph_version
    spec: MessengerSpec = field(default_factory=MessengerSpec)

    @classmethod
    def load(
        cls,
        spec: MessengerSpec | None = None,
        overrides: Mapping[str, Any] | None = None,
        env: Environment | None = None,
    ) -> MessengerSettings:
        """``spec`` (task.yml), then ``overrides`` (the server's settings), then the environment."""
        env = environment() if env is None else env
        merged = _merged(spec or MessengerSpec(), overrides or {})
        return cls(
            page_token=env.fb_page_token,
            app_secret=env.fb_app_secret,
            verify_token=env.fb_verify_token,
            graph_url=(env.fb_graph_url or DEFAULT_GRAPH_URL).rstrip("/"),
            graph_version=env.fb_graph_version or merged.graph_version,
            spec=merged,
        )

    @classmethod
    def of(cls, ctx: ServerContext) -> MessengerSettings:
        """The settings of the server ``ctx`` serves: its task's ``serve.messenger``, then
        ``ctx.settings["messenger"]``, then the environment."""
        serve = getattr(getattr(ctx.task, "spec", None), "serve", None)
        spec = getattr(serve, "messenger", None)
        extra = (ctx.settings or {}).get("messenger")
        return cls.load(spec, extra if isinstance(extra, Mapping) else None)

    def missing(self) -> list[str]:
        """The environment variables this channel needs that are unset."""
        return [
            name
            for name, value in (
                ("WORKBENCH_FB_PAGE_TOKEN", self.page_token),
                ("WORKBENCH_FB_APP_SECRET", self.app_secret),
                ("WORKBENCH_FB_VERIFY_TOKEN", self.verify_token),
            )
            if value is None
        ]


def _merged(spec: MessengerSpec, overrides: Mapping[str, Any]) -> MessengerSpec:
    """``spec`` with the known, valid ``overrides``; secrets and unknown keys are dropped with
    a warning (they come from code, not a file, so a mistake must not stop the server)."""
    known: dict[str, Any] = {}
    for key, value in overrides.items():
        if key in SECRETS:
            log.warning(
                "messenger: %r in the server's settings is ignored; set WORKBENCH_FB_%s in the environment",
                key,
                key.upper(),
            )
        elif key not in MessengerSpec.model_fields:
            log.warning("messenger: unknown setting %r ignored", key)
        else:
            known[key] = value
    if not known:
        return spec
    try:
        return MessengerSpec.model_validate({**spec.model_dump(), **known})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        log.error("messenger: the server's settings are invalid and were ignored: %s", problems)
        return spec
