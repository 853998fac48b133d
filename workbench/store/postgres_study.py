"""Evaluation studies in PostgreSQL: tables ``eval_accounts``, ``eval_threads``, ``eval_ratings``.

The limits :meth:`PostgresStudy.start_thread` checks hold across processes: the check and the
insert run in one transaction holding an advisory lock on the study, so two instances
starting threads at once take turns exactly as two threads of one SQLite process do.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from workbench.store.base import Account, AccountExists, EvalThread, LimitReached, NewThread, Rating, StudyRepository

if TYPE_CHECKING:
    from workbench.store.postgres import PostgresStore

_ACCOUNT = "id, name, role, password_hash, ext_src, ext_id, created, consent, data"
_THREAD = "id, study, topic, bot, person, status, created, updated, data"
#: the advisory-lock namespace of start_thread (the study's name is hashed into the second key)
STUDY_LOCK = 0x5742


def _account(row: tuple) -> Account:
    aid, name, role, pw, src, ext, created, consent, data = row
    return Account(aid, name, role, pw, src, ext, created, json.loads(consent) if consent else None, json.loads(data))


def _thread(row: tuple) -> EvalThread:
    tid, study, topic, bot, person, status, created, updated, data = row
    return EvalThread(tid, study, topic, bot, person, status, created, updated, json.loads(data))


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


class PostgresStudy(StudyRepository):
    def __init__(self, store: PostgresStore) -> None:
        self.store = store

    # -- accounts --------------------------------------------------------------------
    def create_account(self, account: Account) -> Account:
        import psycopg

        account.created = account.created or time.time()
        try:
            with self.store.transaction() as conn:
                conn.execute(
                    f"INSERT INTO eval_accounts ({_ACCOUNT}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
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
        except psycopg.errors.UniqueViolation:
            raise AccountExists(account.id) from None
        return account

    def account(self, account_id: str) -> Account | None:
        with self.store.transaction() as conn:
            row = conn.execute(f"SELECT {_ACCOUNT} FROM eval_accounts WHERE id = %s", (account_id,)).fetchone()
        return _account(row) if row else None

    def account_by_external(self, ext_src: str, ext_id: str) -> Account | None:
        with self.store.transaction() as conn:
            row = conn.execute(
                f"SELECT {_ACCOUNT} FROM eval_accounts WHERE ext_src = %s AND ext_id = %s", (ext_src, ext_id)
            ).fetchone()
        return _account(row) if row else None

    def accounts(self, role: str | None = None) -> list[Account]:
        sql = f"SELECT {_ACCOUNT} FROM eval_accounts"
        args: tuple = ()
        if role is not None:
            sql += " WHERE role = %s"
            args = (role,)
        with self.store.transaction() as conn:
            rows = conn.execute(sql + " ORDER BY created, n", args).fetchall()
        return [_account(r) for r in rows]

    def set_password(self, account_id: str, password_hash: str) -> None:
        with self.store.transaction() as conn:
            conn.execute("UPDATE eval_accounts SET password_hash = %s WHERE id = %s", (password_hash, account_id))

    def set_consent(self, account_id: str, consent: dict[str, Any]) -> None:
        with self.store.transaction() as conn:
            conn.execute("UPDATE eval_accounts SET consent = %s WHERE id = %s", (_dumps(consent), account_id))

    def update_account_data(self, account_id: str, data: dict[str, Any]) -> dict[str, Any]:
        with self.store.transaction() as conn:
            row = conn.execute("SELECT data FROM eval_accounts WHERE id = %s FOR UPDATE", (account_id,)).fetchone()
            if row is None:
                raise KeyError(account_id)
            merged = {**json.loads(row[0]), **data}
            conn.execute("UPDATE eval_accounts SET data = %s WHERE id = %s", (_dumps(merged), account_id))
        return merged

    # -- threads ---------------------------------------------------------------------
    def start_thread(self, new: NewThread) -> EvalThread:
        now = time.time()
        with self.store.transaction() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (STUDY_LOCK, new.study))
            (mine,) = conn.execute(
                "SELECT count(*) FROM eval_threads WHERE study = %s AND person = %s", (new.study, new.person)
            ).fetchone()
            if mine >= new.max_threads_per_person:
                raise LimitReached("person")
            done = {
                r[0]
                for r in conn.execute(
                    "SELECT topic FROM eval_threads WHERE study = %s AND person = %s", (new.study, new.person)
                ).fetchall()
            }
            counts: dict[tuple[str, str], int] = {
                (topic, bot): n
                for topic, bot, n in conn.execute(
                    "SELECT topic, bot, count(*) FROM eval_threads WHERE study = %s GROUP BY topic, bot", (new.study,)
                ).fetchall()
            }
            order = {t: i for i, t in enumerate(new.topics)}
            per_topic = {t: sum(counts.get((t, b), 0) for b in new.bots) for t in new.topics}
            open_topics = [t for t in new.topics if t not in done and per_topic[t] < new.max_threads_per_topic]
            if not open_topics:
                raise LimitReached("topics")
            topic = min(open_topics, key=lambda t: (per_topic[t], order[t]))
            bot = min(new.bots, key=lambda b: (counts.get((topic, b), 0), new.bots.index(b)))
            cid = self.store.insert_conversation(
                conn, new.task, new.person, new.channel, new.world, new.data, None, None
            )
            conn.execute(
                f"INSERT INTO eval_threads ({_THREAD}) VALUES (%s, %s, %s, %s, %s, 'chatting', %s, %s, '{{}}')",
                (cid, new.study, topic, bot, new.person, now, now),
            )
        return EvalThread(cid, new.study, topic, bot, new.person, "chatting", now, now, {})

    def thread(self, thread_id: str) -> EvalThread | None:
        with self.store.transaction() as conn:
            row = conn.execute(f"SELECT {_THREAD} FROM eval_threads WHERE id = %s", (thread_id,)).fetchone()
        return _thread(row) if row else None

    def threads(self, study: str, person: str | None = None) -> list[EvalThread]:
        sql = f"SELECT {_THREAD} FROM eval_threads WHERE study = %s"
        args: tuple = (study,)
        if person is not None:
            sql += " AND person = %s"
            args += (person,)
        with self.store.transaction() as conn:
            rows = conn.execute(sql + " ORDER BY created, n", args).fetchall()
        return [_thread(r) for r in rows]

    def set_thread_status(self, thread_id: str, status: str, expect: str | None = None) -> bool:
        sql = "UPDATE eval_threads SET status = %s, updated = %s WHERE id = %s"
        args: tuple = (status, time.time(), thread_id)
        if expect is not None:
            sql += " AND status = %s"
            args += (expect,)
        with self.store.transaction() as conn:
            return conn.execute(sql, args).rowcount == 1

    def update_thread_data(self, thread_id: str, data: dict[str, Any]) -> dict[str, Any]:
        with self.store.transaction() as conn:
            return self._merge_thread_data(conn, thread_id, data)

    @staticmethod
    def _merge_thread_data(conn: Any, thread_id: str, data: dict[str, Any]) -> dict[str, Any]:
        row = conn.execute("SELECT data FROM eval_threads WHERE id = %s FOR UPDATE", (thread_id,)).fetchone()
        if row is None:
            raise KeyError(thread_id)
        merged = {**json.loads(row[0]), **data}
        conn.execute(
            "UPDATE eval_threads SET data = %s, updated = %s WHERE id = %s", (_dumps(merged), time.time(), thread_id)
        )
        return merged

    # -- ratings ---------------------------------------------------------------------
    _RATE = (
        "INSERT INTO eval_ratings (thread, person, question, seq, value, created) VALUES (%s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (thread, person, question, seq) DO UPDATE SET value = excluded.value, created = excluded.created"
    )

    def rate_turn(self, rating: Rating) -> None:
        if rating.seq < 1:
            raise ValueError("a turn rating names a message (seq >= 1)")
        with self.store.transaction() as conn:
            conn.execute(
                self._RATE,
                (rating.thread, rating.person, rating.question, rating.seq, _dumps(rating.value), time.time()),
            )

    def submit_ratings(self, thread_id: str, person: str, answers: dict[str, Any], data: dict[str, Any]) -> bool:
        now = time.time()
        with self.store.transaction() as conn:
            moved = conn.execute(
                "UPDATE eval_threads SET status = 'done', updated = %s WHERE id = %s AND person = %s"
                " AND status = 'rating'",
                (now, thread_id, person),
            ).rowcount
            if moved != 1:
                return False
            with conn.cursor() as cur:
                cur.executemany(self._RATE, [(thread_id, person, q, 0, _dumps(v), now) for q, v in answers.items()])
            self._merge_thread_data(conn, thread_id, data)
        return True

    def ratings(self, study: str, thread_id: str | None = None) -> list[Rating]:
        sql = (
            "SELECT r.thread, r.person, r.question, r.seq, r.value, r.created FROM eval_ratings r"
            " JOIN eval_threads t ON t.id = r.thread WHERE t.study = %s"
        )
        args: tuple = (study,)
        if thread_id is not None:
            sql += " AND r.thread = %s"
            args += (thread_id,)
        with self.store.transaction() as conn:
            rows = conn.execute(sql + " ORDER BY t.created, r.thread, r.seq, r.n", args).fetchall()
        return [Rating(t, p, q, s, json.loads(v), c) for t, p, q, s, v, c in rows]
