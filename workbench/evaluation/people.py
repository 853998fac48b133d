"""Accounts of an evaluation: argon2 password hashes, ids a server makes, admins.

No account has a default password: an admin comes from ``workbench eval admin create``
or from ``WORKBENCH_EVAL_ADMIN`` / ``WORKBENCH_EVAL_ADMIN_PASSWORD`` at the server's start.
A crowd worker has no password at all: their browser holds a signed login made when
their assignment link was first opened.
"""

from __future__ import annotations

import re
import secrets
from functools import lru_cache
from typing import Any

from workbench.store import Account, AccountExists, Store

#: what an account id a person chooses may look like
ACCOUNT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{1,62}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024


class PasswordRefused(ValueError):
    """A password (or account id) that cannot be used; the message says why."""


@lru_cache(maxsize=1)
def _hasher() -> Any:
    from argon2 import PasswordHasher

    return PasswordHasher()


def hash_password(password: str) -> str:
    check_password(password)
    return _hasher().hash(password)


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise PasswordRefused(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise PasswordRefused(f"a password has at most {MAX_PASSWORD} characters")


def check_account_id(account_id: str) -> None:
    if not ACCOUNT_ID.match(account_id):
        raise PasswordRefused("an account name is 2 to 63 letters, digits or . _ @ - (starting with a letter or digit)")


#: verified against when an account does not exist, so a wrong name costs as long as a wrong password
_DUMMY_HASH: str | None = None


def verify_password(account: Account | None, password: str) -> bool:
    """True when ``password`` is the account's (argon2). Takes as long for a missing account."""
    from argon2.exceptions import InvalidHashError, VerificationError

    global _DUMMY_HASH
    if len(password) > MAX_PASSWORD:
        return False
    hashed = account.password_hash if account is not None else None
    if hashed is None:
        if _DUMMY_HASH is None:
            _DUMMY_HASH = _hasher().hash(secrets.token_hex(16))
        hashed = _DUMMY_HASH
        account = None
    try:
        _hasher().verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False
    return account is not None


def create_person(
    store: Store, account_id: str, password: str, role: str = "worker", name: str | None = None
) -> Account:
    """A new account with a password; :class:`AccountExists` if the name is taken."""
    check_account_id(account_id)
    if role not in ("worker", "admin"):
        raise PasswordRefused("the role is worker or admin")
    return store.study.create_account(Account(account_id, name or account_id, role, hash_password(password)))


def ensure_admin(store: Store, account_id: str, password: str) -> Account:
    """The admin ``account_id`` with ``password`` (created, or its password and role set)."""
    existing = store.study.account(account_id)
    if existing is None:
        try:
            return create_person(store, account_id, password, role="admin")
        except AccountExists:
            existing = store.study.account(account_id)
    assert existing is not None
    if existing.role != "admin":
        raise PasswordRefused(f"{account_id!r} is a worker account; choose another name for the admin")
    if not verify_password(existing, password):
        store.study.set_password(account_id, hash_password(password))
    return store.study.account(account_id) or existing


def crowd_worker(store: Store, platform: str, external_id: str) -> tuple[Account, bool]:
    """The account of a crowd worker (created on their first arrival); True when new."""
    found = store.study.account_by_external(platform, external_id)
    if found is not None:
        return found, False
    account = Account(f"{platform}-{secrets.token_hex(6)}", f"{platform} worker", "worker", None, platform, external_id)
    try:
        return store.study.create_account(account), True
    except AccountExists:  # arrived twice at once: the other request made it
        again = store.study.account_by_external(platform, external_id)
        if again is None:
            raise
        return again, False
