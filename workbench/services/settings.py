"""What the server takes from the environment: secrets and deployment settings, all under
the ``WORKBENCH_`` prefix (pydantic-settings), never from task.yml.

Secrets are ``SecretStr``: they print as ``**********`` in logs and reprs. Read them with
:func:`environment` each time they are needed, so a changed environment (a test, a
rotated token in a restarted worker) is seen without a cache to invalidate.
"""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Environment(BaseSettings):
    """``WORKBENCH_*`` environment variables (names are the field names upper-cased)."""

    model_config = SettingsConfigDict(env_prefix="WORKBENCH_", extra="ignore", case_sensitive=False)

    #: REST writes (and, when set, every REST endpoint a task does not open) need it as a Bearer token
    api_token: SecretStr | None = None
    #: Facebook Messenger: the page access token, the app secret that signs webhooks,
    #: the token Facebook echoes when subscribing the webhook
    fb_page_token: SecretStr | None = None
    fb_app_secret: SecretStr | None = None
    fb_verify_token: SecretStr | None = None
    #: where the Graph API is (tests point it at a local double) and which version to call
    fb_graph_url: str | None = None
    fb_graph_version: str | None = None
    #: evaluation pages (docs/evaluation.md): the key that signs login cookies and form tokens
    #: (at least 32 characters; unset: one is made per process and logins end on restart)
    eval_secret: SecretStr | None = None
    #: an admin account made (or its password set) when the server starts
    eval_admin: str | None = None
    eval_admin_password: SecretStr | None = None
    #: send login cookies only over HTTPS (set it behind a TLS proxy; Mechanical Turk needs it)
    eval_cookie_secure: bool = False


def environment() -> Environment:
    """The environment's settings now (empty values count as unset)."""
    env = Environment()
    for name in type(env).model_fields:
        value = getattr(env, name)
        if isinstance(value, SecretStr) and not value.get_secret_value():
            setattr(env, name, None)
        elif value == "":
            setattr(env, name, None)
    return env


def secret(value: SecretStr | None) -> str | None:
    """The secret's text, or None when unset."""
    return value.get_secret_value() if value is not None else None
