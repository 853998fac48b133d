"""Evaluation studies in SQLite: tables ``eval_accounts``, ``eval_threads``, ``eval_ratings``.

Every write takes the store's lock and one ``BEGIN IMMEDIATE`` transaction, so the
limits :meth:`SqliteStudy.start_thread` checks hold however many people arrive at once
(in this process or another one writing the same file).
"""

from __future__ import annotations

import json
import sqlite3
import time
from typing import TYPE_CHECKING, Any

from workbench.store.base import Account, AccountExists, EvalThread, LimitReached, NewThread, Rating, StudyRepository

if TYPE_CHECKING:
    from workbench.store.sqlite import SqliteStore

_ACCOUNT = "id, name, role, password_hash, ext_src, ext_id, created, consent, data"
_THREAD = "id, study, topic, bot, person, status, created, updated, data"


def _account(row: tuple) -> Account:
    aid, name, role, pw, src, ext, created, consent, data = row
    return Account(aid, name, role, pw, src, ext, created, json.loads(consent) if consent else None, json.loads(data))


def _thread(row: tuple) -> EvalThread:
    tid, study, topic, bot, person, status, created, updated, data = row
    return EvalThread(tid, study, topic, bot, person, status, created, updated, json.loads(data))


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


class SqliteStudy(StudyRepository):
    def __init__(self, store: SqliteStore) -> None:
        self.store = store

    @property
    def conn(self) -> sqlite3.Connection:
        return self.store.conn

    # -- accounts --------------------------------------------------------------------
    def create_account(self, account: Account) -> Account:
        account.created = account.created or time.time()
        try:
            with self.store.transaction():
                self.conn.execute(
                    f"INSERT INTO eval_accounts ({_ACCOUNT}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        account.id,
                        account.name,
                        account.role,
                        account.password_hash,
                        account.ext_src,
                        account.ext_id,
                        account.created,
                        _dumps(account.consent) if account.consent is not None else None,
                        _dumps(account.data),
                    ),
                )
        except sqlite3.IntegrityError:
            raise AccountExists(account.id) from None
        return account

    def account(self, account_id: str) -> Account | None:
        with self.store._lock:
            row = self.conn.execute(f"SELECT {_ACCOUNT} FROM eval_accounts WHERE id = ?", (account_id,)).fetchone()
        return _account(row) if row else None

    def account_by_external(self, ext_src: str, ext_id: str) -> Account | None:
        with self.store._lock:
            row = self.conn.execute(
                f"SELECT {_ACCOUNT} FROM eval_accounts WHERE ext_src = ? AND ext_id = ?", (ext_src, ext_id)
            ).fetchone()
        return _account(row) if row else None

    def accounts(self, role: str | None = None) -> list[Account]:
        sql = f"SELECT {_ACCOUNT} FROM eval_accounts"
        args: tuple = ()
        if role is not None:
            sql += " WHERE role = ?"
            args = (role,)
        with self.store._lock:
            rows = self.conn.execute(sql + " ORDER BY created, rowid", args).fetchall()
        return [_account(r) for r in rows]

    def set_password(self, account_id: str, password_hash: str) -> None:
        with self.store.transaction():
            self.conn.execute("UPDATE eval_accounts SET password_hash = ? WHERE id = ?", (password_hash, account_id))

    def set_consent(self, account_id: str, consent: dict[str, Any]) -> None:
        with self.store.transaction():
            self.conn.execute("UPDATE eval_accounts SET consent = ? WHERE id = ?", (_dumps(consent), account_id))

    def update_account_data(self, account_id: str, data: dict[str, Any]) -> dict[str, Any]:
        with self.store.transaction():
            row = self.conn.execute("SELECT data FROM eval_accounts WHERE id = ?", (account_id,)).fetchone()
            if row is None:
                raise KeyError(account_id)
            merged = {**json.loads(row[0]), **data}
            self.conn.execute("UPDATE eval_accounts SET data = ? WHERE id = ?", (_dumps(merged), account_id))
        return merged

    # -- threads ---------------------------------------------------------------------
    def start_thread(self, new: NewThread) -> EvalThread:
        now = time.time()
        with self.store.transaction():
            conn = self.conn
            (mine,) = conn.execute(
                "SELECT count(*) FROM eval_threads WHERE study = ? AND person = ?", (new.study, new.person)
            ).fetchone()
            if mine >= new.max_threads_per_person:
                raise LimitReached("person")
            done = {
                r[0]
                for r in conn.execute(
                    "SELECT topic FROM eval_threads WHERE study = ? AND person = ?", (new.study, new.person)
                )
            }
            counts: dict[tuple[str, str], int] = {
                (topic, bot): n
                for topic, bot, n in conn.execute(
                    "SELECT topic, bot, count(*) FROM eval_threads WHERE study = ? GROUP BY topic, bot", (new.study,)
                )
            }
            order = {t: i for i, t in enumerate(new.topics)}
            per_topic = {t: sum(counts.get((t, b), 0) for b in new.bots) for t in new.topics}
            open_topics = [t for t in new.topics if t not in done and per_topic[t] < new.max_threads_per_topic]
            if not open_topics:
                raise LimitReached("topics")
            topic = min(open_topics, key=lambda t: (per_topic[t], order[t]))
            bot = min(new.bots, key=lambda b: (counts.get((topic, b), 0), new.bots.index(b)))
            cid = self.store.new_conversation(new.task, new.person, new.channel, world=new.world, data=new.data)
            conn.execute(
                f"INSERT INTO eval_threads ({_THREAD}) VALUES (?, ?, ?, ?, ?, 'chatting', ?, ?, '{{}}')",
                (cid, new.study, topic, bot, new.person, now, now),
            )
        return EvalThread(cid, new.study, topic, bot, new.person, "chatting", now, now, {})

    def thread(self, thread_id: str) -> EvalThread | None:
        with self.store._lock:
            row = self.conn.execute(f"SELECT {_THREAD} FROM eval_threads WHERE id = ?", (thread_id,)).fetchone()
        return _thread(row) if row else None

    def threads(self, study: str, person: str | None = None) -> list[EvalThread]:
        sql = f"SELECT {_THREAD} FROM eval_threads WHERE study = ?"
        args: tuple = (study,)
        if person is not None:
            sql += " AND person = ?"
            args += (person,)
        with self.store._lock:
            rows = self.conn.execute(sql + " ORDER BY created, rowid", args).fetchall()
        return [_thread(r) for r in rows]

    def set_thread_status(self, thread_id: str, status: str, expect: str | None = None) -> bool:
        sql = "UPDATE eval_threads SET status = ?, updated = ? WHERE id = ?"
        args: tuple = (status, time.time(), thread_id)
        if expect is not None:
            sql += " AND status = ?"
            args += (expect,)
        with self.store.transaction():
            return self.conn.execute(sql, args).rowcount == 1

    def update_thread_data(self, thread_id: str, data: dict[str, Any]) -> dict[str, Any]:
        with self.store.transaction():
            merged = self._merge_thread_data(thread_id, data)
        return merged

    def _merge_thread_data(self, thread_id: str, data: dict[str, Any]) -> dict[str, Any]:
        row = self.conn.execute("SELECT data FROM eval_threads WHERE id = ?", (thread_id,)).fetchone()
        if row is None:
            raise KeyError(thread_id)
        merged = {**json.loads(row[0]), **data}
        self.conn.execute(
            "UPDATE eval_threads SET data = ?, updated = ? WHERE id = ?", (_dumps(merged), time.time(), thread_id)
        )
        return merged

    # -- ratings ---------------------------------------------------------------------
    def rate_turn(self, rating: Rating) -> None:
        if rating.seq < 1:
            raise ValueError("a turn rating names a message (seq >= 1)")
        with self.store.transaction():
            self.conn.execute(
                "INSERT OR REPLACE INTO eval_ratings (thread, person, question, seq, value, created)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (rating.thread, rating.person, rating.question, rating.seq, _dumps(rating.value), time.time()),
            )

    def submit_ratings(self, thread_id: str, person: str, answers: dict[str, Any], data: dict[str, Any]) -> bool:
        now = time.time()
        with self.store.transaction():
            moved = self.conn.execute(
                "UPDATE eval_threads SET status = 'done', updated = ? WHERE id = ? AND person = ? AND status = 'rating'",
                (now, thread_id, person),
            ).rowcount
            if moved != 1:
                return False
            self.conn.executemany(
                "INSERT OR REPLACE INTO eval_ratings (thread, person, question, seq, value, created)"
                " VALUES (?, ?, ?, 0, ?, ?)",
                [(thread_id, person, q, _dumps(v), now) for q, v in answers.items()],
            )
            self._merge_thread_data(thread_id, data)
        return True

    def ratings(self, study: str, thread_id: str | None = None) -> list[Rating]:
        sql = (
            "SELECT r.thread, r.person, r.question, r.seq, r.value, r.created FROM eval_ratings r"
            " JOIN eval_threads t ON t.id = r.thread WHERE t.study = ?"
        )
        args: tuple = (study,)
        if thread_id is not None:
            sql += " AND r.thread = ?"
            args += (thread_id,)
        with self.store._lock:
            rows = self.conn.execute(sql + " ORDER BY t.created, r.thread, r.seq, r.rowid", args).fetchall()
        return [Rating(t, p, q, s, json.loads(v), c) for t, p, q, s, v, c in rows]
