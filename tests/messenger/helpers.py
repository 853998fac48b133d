"""Webhook events as Messenger sends them, signed or not, and bounded waits (shared with
every Messenger test through support.messenger)."""

from __future__ import annotations

from support import copy_sample, wait_for, write_task  # noqa: F401  (shared by this folder's tests)
from support.messenger import (  # noqa: F401
    APP_SECRET,
    PAGE_ID,
    VERIFY_TOKEN,
    attachment,
    echo_of_page,
    encode,
    page,
    postback,
    quick_reply,
    sign,
    text,
)
