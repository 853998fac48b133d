"""Where a task's data lives, from the environment (``WORKBENCH_STORE_*``) and task.yml.

``WORKBENCH_STORE_URL`` wins over task.yml's ``storage:`` (a deployment decides where the
data goes, not the task). A PostgreSQL password never comes from task.yml: it comes from
``WORKBENCH_STORE_PASSWORD`` (or libpq's own ``PGPASSWORD`` / ``~/.pgpass``), or from
``WORKBENCH_STORE_URL``, which is itself part of the environment. The store layer cannot
import workbench.services, so its settings live here (services/settings.py holds the rest).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

#: URL schemes that name a PostgreSQL server
POSTGRES_SCHEMES = ("postgresql", "postgres")


class StoreEnvironment(BaseSettings):
    """``WORKBENCH_STORE_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="WORKBENCH_STORE_", extra="ignore", case_sensitive=False)

    #: the store every task opens instead of its ``storage:`` (a PostgreSQL URL or a SQLite path)
    url: SecretStr | None = None
    #: the PostgreSQL password (the URL in task.yml never carries one)
    password: SecretStr | None = None
    #: connections each process keeps to PostgreSQL at most
    pool_size: int = 10


def store_environment() -> StoreEnvironment:
    return StoreEnvironment()


def is_postgres(target: str | Path) -> bool:
    return isinstance(target, str) and target.split(":", 1)[0].lower() in POSTGRES_SCHEMES and "://" in target


def password_in_url(url: str) -> bool:
    """Whether a PostgreSQL URL carries a password (``user:secret@host``, ``?password=``)."""
    parts = urlsplit(url)
    if parts.password:
        return True
    return any(p.split("=", 1)[0].lower() == "password" for p in parts.query.split("&") if p)


def without_password(url: str) -> str:
    """The URL to show people: its password, if any, replaced by ``***``."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password:
        netloc = netloc.replace(f":{parts.password}@", ":***@", 1)
    query = "&".join(
        "password=***" if p.split("=", 1)[0].lower() == "password" else p for p in parts.query.split("&") if p
    )
    return parts._replace(netloc=netloc, query=query).geturl()


def store_target(storage: str, root: Path) -> str | Path:
    """What a task's store opens: the environment's URL, else ``storage`` (a PostgreSQL URL, or
    a SQLite file relative to the task directory ``root``)."""
    env = store_environment()
    if env.url is not None and env.url.get_secret_value().strip():
        chosen = env.url.get_secret_value().strip()
        return chosen if is_postgres(chosen) or chosen == ":memory:" else _path(chosen, root)
    if is_postgres(storage) or storage == ":memory:":
        return storage
    return _path(storage, root)


def _path(value: str, root: Path) -> Path:
    path = Path(value)
    return path if path.is_absolute() else root / path
