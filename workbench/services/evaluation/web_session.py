"""Signed, expiring login cookies and single-use form tokens (HMAC-SHA256).

A cookie holds a random session id, the account id once logged in, and its expiry,
signed with the server's secret (``WORKBENCH_EVAL_SECRET``): it cannot be forged or
extended. A form token is bound to the session id and expires; the server remembers the
tokens it has accepted (``Store.claim_event``), so a form cannot be posted twice.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

COOKIE = "wb_eval"
#: seconds a form token stays valid
FORM_TOKEN_SECONDS = 4 * 3600
MIN_SECRET = 32


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    def __init__(self, secret: str) -> None:
        if len(secret) < MIN_SECRET:
            raise ValueError(f"WORKBENCH_EVAL_SECRET needs at least {MIN_SECRET} characters")
        self._key = hashlib.sha256(b"workbench-eval\0" + secret.encode()).digest()

    def sign(self, purpose: str, payload: str) -> str:
        return _b64(hmac.new(self._key, f"{purpose}\0{payload}".encode(), hashlib.sha256).digest())

    def check(self, purpose: str, payload: str, signature: str) -> bool:
        return hmac.compare_digest(self.sign(purpose, payload), signature)


@dataclass
class WebSession:
    sid: str
    account: str | None
    expires: float

    @classmethod
    def new(cls, hours: float, account: str | None = None) -> WebSession:
        return cls(secrets.token_urlsafe(18), account, time.time() + hours * 3600)

    def cookie(self, signer: Signer) -> str:
        payload = _b64(json.dumps([self.sid, self.account, int(self.expires)]).encode())
        return f"{payload}.{signer.sign('cookie', payload)}"

    @classmethod
    def from_cookie(cls, value: str | None, signer: Signer) -> WebSession | None:
        """The session of a cookie that is well signed and not expired, else None."""
        if not value or len(value) > 512 or value.count(".") != 1:
            return None
        payload, signature = value.split(".")
        if not signer.check("cookie", payload, signature):
            return None
        try:
            sid, account, expires = json.loads(_unb64(payload))
        except (ValueError, TypeError):
            return None
        if not isinstance(sid, str) or not isinstance(expires, int) or expires < time.time():
            return None
        return cls(sid, account if isinstance(account, str) else None, float(expires))

    def form_token(self, signer: Signer) -> str:
        nonce = secrets.token_urlsafe(12)
        expires = int(time.time() + FORM_TOKEN_SECONDS)
        payload = f"{self.sid}.{nonce}.{expires}"
        return f"{nonce}.{expires}.{signer.sign('form', payload)}"

    def check_form_token(self, token: str, signer: Signer) -> str | None:
        """The token's nonce when it was made for this session and has not expired, else None."""
        parts = token.split(".") if isinstance(token, str) and len(token) < 256 else []
        if len(parts) != 3 or not parts[1].isdigit():
            return None
        nonce, expires, signature = parts
        if int(expires) < time.time() or not signer.check("form", f"{self.sid}.{nonce}.{expires}", signature):
            return None
        return nonce
