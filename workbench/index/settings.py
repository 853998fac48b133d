"""Where the search server is and how to log in: task.yml's ``index:`` and ``WORKBENCH_INDEX_*``.

task.yml says which server and which name prefix (``index: {elasticsearch: {url, index_prefix}}``
or ``opensearch:``); credentials only ever come from the environment: ``WORKBENCH_INDEX_USERNAME``
and ``WORKBENCH_INDEX_PASSWORD``, or ``WORKBENCH_INDEX_API_KEY`` (Elasticsearch). ``WORKBENCH_INDEX_URL``
overrides the URL (a deployment decides where its cluster is).
"""

from __future__ import annotations

import re
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: an index name prefix: Elasticsearch's rules for names (lower case, no separators it reserves)
PREFIX = re.compile(r"^[a-z0-9][a-z0-9_-]{0,40}$")


class ServerSpec(BaseModel):
    """``index: {elasticsearch: {...}}`` or ``index: {opensearch: {...}}`` in task.yml."""

    model_config = ConfigDict(extra="forbid")

    url: str = "http://127.0.0.1:9200"
    #: every index and alias of the task starts with it (several tasks can share a cluster)
    index_prefix: str = "workbench"
    #: seconds one request may take
    timeout: float = Field(10.0, gt=0, le=300)
    #: shards of each index (1 keeps BM25's statistics exact; collections are small)
    shards: int = Field(1, ge=1, le=64)
    replicas: int = Field(0, ge=0, le=16)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("expected an http:// or https:// URL of the cluster")
        if parts.username or parts.password:
            raise ValueError(
                "credentials do not belong in task.yml: set WORKBENCH_INDEX_USERNAME and "
                "WORKBENCH_INDEX_PASSWORD (or WORKBENCH_INDEX_API_KEY) in the environment"
            )
        return value.rstrip("/")

    @field_validator("index_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not PREFIX.match(value):
            raise ValueError(
                "expected lower-case letters, digits, - and _ (at most 41), starting with a letter or digit"
            )
        return value


class IndexEnvironment(BaseSettings):
    """``WORKBENCH_INDEX_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="WORKBENCH_INDEX_", extra="ignore", case_sensitive=False)

    url: str | None = None
    username: str | None = None
    password: SecretStr | None = None
    api_key: SecretStr | None = None


Flavour = Literal["elasticsearch", "opensearch"]


def parse_spec(spec: dict[str, Any]) -> tuple[Flavour, ServerSpec]:
    """The flavour and settings a task's ``index:`` mapping names (ValueError when malformed)."""
    if len(spec) != 1 or next(iter(spec)) not in ("elasticsearch", "opensearch"):
        raise ValueError("expected 'embedded', {elasticsearch: {url, index_prefix}} or {opensearch: {...}}")
    flavour: Flavour = "elasticsearch" if "elasticsearch" in spec else "opensearch"
    body = spec[flavour] or {}
    if not isinstance(body, dict):
        raise ValueError(f"{flavour}: expected a mapping with url and index_prefix")
    return flavour, ServerSpec.model_validate(body)
