"""Helpers of the serve tests (they live in tests/support now)."""

from support import copy_sample, free_port, write_task  # noqa: F401
from support.cli import WORKBENCH  # noqa: F401
from support.servers import Client, InLoopServer, ServeProcess, connect  # noqa: F401
