"""Who is asking: the REST API's one access rule.

* Writes need ``Authorization: Bearer <WORKBENCH_API_TOKEN>``; with no token configured
  they are refused (403).
* With a token configured, reads need it too, except the endpoints the task opens in
  ``serve.public_api``.
* With no token configured, reads are open.

A caller who presents the right token is *trusted*; everyone else is *anonymous*, and
anonymous callers see less: verified Q/As only (never hidden ones), and from
get_next_response only what their own request and turn produced, in conversations
kept apart from the trusted ones. A wrong token is always refused (401), even on an
open endpoint: the caller meant to authenticate.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from starlette.requests import Request

from workbench.services.settings import environment, secret
from workbench.services.starchat.errors import ApiError

TOKEN_ENV = "WORKBENCH_API_TOKEN"


@dataclass(frozen=True)
class Caller:
    """Who made a request: ``trusted`` when they presented the server's token."""

    trusted: bool


ANONYMOUS = Caller(trusted=False)
TRUSTED = Caller(trusted=True)


def authorize(request: Request, endpoint: str, write: bool, public: frozenset[str]) -> Caller:
    """The caller of ``request`` to ``endpoint``, or the :class:`ApiError` (401/403) refusing it."""
    token = secret(environment().api_token) or ""
    header = request.headers.get("authorization")
    if write and not token:
        raise ApiError(403, f"writes are disabled on this server: set {TOKEN_ENV} to allow them")
    if header is not None and token:
        _check(header, token)
        return TRUSTED
    if write or (token and endpoint not in public):
        if header is None:
            what = "writes need" if write else f"{endpoint} needs"
            raise ApiError(
                401,
                f"{what} an 'Authorization: Bearer <token>' header (the server's {TOKEN_ENV})",
                field="Authorization",
            )
    return ANONYMOUS


def _check(header: str, token: str) -> None:
    scheme, _, given = header.partition(" ")
    given = given.strip()
    if scheme.lower() != "bearer" or not given:
        raise ApiError(401, "the Authorization header must be 'Bearer <token>'", field="Authorization")
    if not hmac.compare_digest(given.encode("utf-8", "surrogateescape"), token.encode()):
        raise ApiError(401, "the bearer token is not valid", field="Authorization")
