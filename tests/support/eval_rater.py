"""A person using the evaluation pages of a running server over HTTP: their own cookie jar,
the form tokens of the last page they saw, and the forms they send (tests/e2e/evaluation)."""

from __future__ import annotations

import re
from typing import Any

import httpx

TOKEN = re.compile(r'name="csrf" value="([^"]+)"')
TEXTS = re.compile(r'<span class="text">([^<]*)</span>')
THREAD = re.compile(r"/eval/threads/([0-9a-f]+)")


class Rater:
    def __init__(self, base_url: str) -> None:
        self.http = httpx.AsyncClient(base_url=base_url, follow_redirects=True, timeout=30)
        self.page: httpx.Response | None = None
        self.thread: str | None = None

    async def close(self) -> None:
        await self.http.aclose()

    async def get(self, path: str) -> httpx.Response:
        self.page = await self.http.get(path)
        return self.page

    def token(self) -> str:
        """A form token of the last page (the last form's, like a person submitting the bottom form)."""
        assert self.page is not None, "no page yet"
        found = TOKEN.findall(self.page.text)
        assert found, f"no form on {self.page.url}: {self.page.text[:300]}"
        return found[-1]

    async def post(self, path: str, data: dict[str, Any] | None = None, token: str | None = None) -> httpx.Response:
        body = dict(data or {})
        body.setdefault("csrf", token if token is not None else self.token())
        self.page = await self.http.post(path, data=body)
        match = THREAD.search(str(self.page.url))
        if match:
            self.thread = match.group(1)
        return self.page

    async def signup(self, name: str, password: str = "correct horse", boxes: int = 2) -> httpx.Response:
        await self.get("/eval/signup")
        fields = {"account": name, "password": password, "password2": password}
        fields |= {f"cb_{i}": "yes" for i in range(boxes)}
        return await self.post("/eval/signup", fields)

    async def login(self, name: str, password: str) -> httpx.Response:
        await self.get("/eval/login")
        return await self.post("/eval/login", {"account": name, "password": password})

    async def start(self) -> httpx.Response:
        await self.get("/eval/")
        return await self.post("/eval/threads")

    async def say(self, text: str, thread: str | None = None) -> httpx.Response:
        return await self.post(f"/eval/threads/{thread or self.thread}/say", {"text": text})

    def texts(self) -> list[str]:
        assert self.page is not None
        import html

        return [html.unescape(t) for t in TEXTS.findall(self.page.text)]
