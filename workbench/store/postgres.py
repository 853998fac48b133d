"""The PostgreSQL store: the same contract as SQLite's, shared by every process of a task.

psycopg 3 with a connection pool (psycopg-pool); every method takes a connection for one
transaction and gives it back. Semantics match SqliteStore's:

* *acknowledged means committed*: :meth:`PostgresStore.commit_many` returns after COMMIT
  (``synchronous_commit`` as the server has it, ``on`` by default), and the turns of one
  group commit share that one transaction, all or none;
* *order per conversation*: a conversation's message numbers come from its row
  (``last_seq``), updated in the transaction that writes the messages, so two processes
  writing one conversation take turns on its row lock; rows are locked in id order, so two
  group commits never deadlock on each other;
* *fencing*: a commit carrying a conversation's epoch is refused when another process has
  claimed the conversation since (:class:`ConversationMoved`).

The URL is libpq's (``postgresql://user@host:port/db?sslmode=...``) plus one parameter of
our own, ``schema=NAME``: the schema the task's tables live in (created if missing; default
``public``), so one database can hold several tasks. The password comes from the
environment (workbench/store/settings.py), never from task.yml.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from workbench.store import base
from workbench.store.base import Commit, ConversationMoved, StateAt, Store
from workbench.store.copy import TABLES
from workbench.store.postgres_vectors import PostgresVectorCache
from workbench.store.settings import store_environment, without_password

#: a schema name spliced into ``SET search_path`` (quoted), checked first
SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
#: the column each table's rows are listed by, in the order they were written
ORDER = {
    "conversations": "n",
    "messages": "id",
    "eval_accounts": "n",
    "eval_threads": "n",
    "eval_ratings": "n",
    "engine_state": "conversation_id, bot",
    "doc_sets": "name",
    "documents": "set_name, position",
    "doc_deleted": "set_name, id",
    "seen_events": "scope, key",
    "state_history": "id",
    "vectors": "model, key",
}


def split_url(url: str) -> tuple[str, str]:
    """(libpq URL, schema): our ``schema=`` parameter taken out of the query."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = "public"
    kept = []
    for key, value in query:
        if key == "schema":
            schema = value
        else:
            kept.append((key, value))
    if not SCHEMA_NAME.match(schema):
        raise ValueError(f"schema={schema!r}: expected letters, digits and _ (at most 63, not starting with a digit)")
    return parts._replace(query=urlencode(kept)).geturl(), schema


class PostgresStore(Store):
    """A task's data in PostgreSQL. Thread-safe: the pool hands each call its own connection."""

    #: a network store: engines that read it during a turn run in a worker thread
    remote = True

    def __init__(self, url: str, pool_size: int | None = None, password: str | None = None) -> None:
        import psycopg
        from psycopg_pool import ConnectionPool

        from workbench.store.postgres_documents import PostgresDocumentSet
        from workbench.store.postgres_schema import migrate
        from workbench.store.postgres_study import PostgresStudy

        env = store_environment()
        self.path = without_password(url)
        conninfo, self.schema = split_url(url)
        kwargs: dict[str, Any] = {"application_name": "workbench"}
        secret = password or (env.password.get_secret_value() if env.password is not None else None)
        if secret:
            kwargs["password"] = secret
        schema = self.schema
        # the schema first, before any table is made or read
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=10, **kwargs) as conn:
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            conn.execute(f'SET search_path TO "{schema}"')
            self.schema_version = migrate(conn, self.path)

        def configure(conn: Any) -> None:
            conn.execute(f'SET search_path TO "{schema}"')
            conn.commit()

        self.pool = ConnectionPool(
            conninfo,
            min_size=1,
            max_size=max(1, pool_size or env.pool_size),
            kwargs={**kwargs, "connect_timeout": 10},
            configure=configure,
            open=True,
            name="workbench",
        )
        self._documents: dict[str, PostgresDocumentSet] = {}
        self._document_class = PostgresDocumentSet
        self._study = PostgresStudy(self)

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """A connection in one transaction: committed when the block ends, rolled back if it raises."""
        with self.pool.connection() as conn:
            yield conn

    # -- conversations ----------------------------------------------------
    def new_conversation(
        self,
        task: str,
        person: str,
        channel: str = "local",
        world: str | None = None,
        data: dict | None = None,
        meta: dict | None = None,
        conversation_id: str | None = None,
    ) -> str:
        with self.transaction() as conn:
            return self.insert_conversation(conn, task, person, channel, world, data, meta, conversation_id)

    def insert_conversation(
        self,
        conn: Any,
        task: str,
        person: str,
        channel: str,
        world: str | None,
        data: dict | None,
        meta: dict | None,
        conversation_id: str | None,
    ) -> str:
        cid = conversation_id or base.new_id()
        now = time.time()
        conn.execute(
            "INSERT INTO conversations (id, task, person, channel, created, updated, status, world, data, meta)"
            " VALUES (%s, %s, %s, %s, %s, %s, 'active', %s, %s, %s)",
            (cid, task, person, channel, now, now, world, json.dumps(data or {}), json.dumps(meta or {})),
        )
        return cid

    _CONVERSATION = "id, task, person, channel, created, updated, status, world, data, meta, epoch"

    @staticmethod
    def _conv_row(cols: list[str], row: tuple) -> dict[str, Any]:
        out = dict(zip(cols, row, strict=True))
        out["data"] = json.loads(out.get("data") or "{}")
        out["meta"] = json.loads(out.get("meta") or "{}")
        return out

    def conversation(self, cid: str) -> dict[str, Any] | None:
        with self.transaction() as conn:
            row = conn.execute(f"SELECT {self._CONVERSATION} FROM conversations WHERE id = %s", (cid,)).fetchone()
        return self._conv_row(self._CONVERSATION.split(", "), row) if row else None

    def conversations(
        self, limit: int = 200, person: str | None = None, task: str | None = None
    ) -> list[dict[str, Any]]:
        cols = [f"c.{c}" for c in self._CONVERSATION.split(", ")]
        sql = (
            f"SELECT {', '.join(cols)}, (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id)"
            " FROM conversations c"
        )
        where: list[str] = []
        args: list[str | int] = []
        if person:
            where.append("c.person = %s")
            args.append(person)
        if task:
            where.append("c.task = %s")
            args.append(task)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY c.updated DESC, c.n DESC LIMIT %s"
        args.append(limit)
        names = [*self._CONVERSATION.split(", "), "n_messages"]
        with self.transaction() as conn:
            return [self._conv_row(names, r) for r in conn.execute(sql, args).fetchall()]

    def find_conversation(self, task: str, person: str, channel: str) -> str | None:
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT id FROM conversations WHERE person = %s AND channel = %s AND task = %s"
                " ORDER BY created DESC, n DESC LIMIT 1",
                (person, channel, task),
            ).fetchone()
        return row[0] if row else None

    def update_conversation(self, cid: str, fence: int | None = None, **columns: Any) -> bool:
        with self.transaction() as conn:
            return self._update(conn, cid, columns, fence)

    @staticmethod
    def _update(conn: Any, cid: str, columns: dict[str, Any], fence: int | None = None) -> bool:
        cols = dict(columns)
        for key in cols:
            if key not in ("world", "status", "data", "meta", "task", "person", "channel"):
                raise ValueError(f"not a conversation column one may change: {key!r}")
        for key in ("data", "meta"):
            if key in cols and not isinstance(cols[key], str):
                cols[key] = json.dumps(cols[key], default=str)
        cols["updated"] = time.time()
        sets = ", ".join(f"{k} = %s" for k in cols)
        sql, args = f"UPDATE conversations SET {sets} WHERE id = %s", [*cols.values(), cid]
        if fence is not None:
            sql += " AND epoch = %s"
            args.append(fence)
        return conn.execute(sql, args).rowcount == 1

    def claim_conversation(self, cid: str) -> int | None:
        with self.transaction() as conn:
            row = conn.execute(
                "UPDATE conversations SET epoch = epoch + 1, status = 'active', updated = %s WHERE id = %s"
                " RETURNING epoch",
                (time.time(), cid),
            ).fetchone()
        return int(row[0]) if row else None

    # -- messages and state ---------------------------------------------
    def commit_many(self, commits: list[Commit]) -> None:
        """Write several turns in one transaction, all or none (a group commit)."""
        now = time.time()
        counts: dict[str, int] = {}
        fences: dict[str, int] = {}
        touched: dict[str, dict[str, Any]] = {}
        for commit in commits:
            for cid, records in commit.records.items():
                counts[cid] = counts.get(cid, 0) + len(records)
            fences.update(commit.fences)
            for cid in (*commit.records, *(c for c, _, _ in commit.states), *commit.locations):
                touched.setdefault(cid, {}).update(commit.locations.get(cid, {}))
        with self.transaction() as conn:
            # one row lock per conversation, always taken in id order: writers of one
            # conversation take turns, and two group commits never wait for each other in a circle
            first: dict[str, int] = {}
            for cid in sorted(set(counts) | set(fences) | set(touched)):
                row = conn.execute(
                    "UPDATE conversations SET last_seq = last_seq + %s, updated = %s WHERE id = %s"
                    " RETURNING last_seq, epoch",
                    (counts.get(cid, 0), now, cid),
                ).fetchone()
                if row is None:
                    if cid in fences:
                        raise ConversationMoved(cid)
                    raise LookupError(f"no conversation {cid!r}")
                if cid in fences and row[1] != fences[cid]:
                    raise ConversationMoved(cid)
                first[cid] = row[0] - counts.get(cid, 0)
            rows = []
            states = []
            history = []
            for commit in commits:
                for cid, records in commit.records.items():
                    for rec in records:
                        first[cid] += 1
                        rows.append(rec.row(cid, first[cid], now))
                for cid, bot, state in commit.states:
                    encoded = json.dumps(state, default=str)
                    states.append((cid, bot, encoded, now))
                    # after this commit's messages: the state belongs to the turn they end
                    history.append((cid, bot, first[cid], now, commit.state_source, encoded))
            with conn.cursor() as cur:
                if rows:
                    cur.executemany(
                        "INSERT INTO messages (conversation_id, seq, world, world_instance, agent, role,"
                        " created, text, act, trace) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                        rows,
                    )
                if states:
                    cur.executemany(
                        "INSERT INTO engine_state (conversation_id, bot, state, updated) VALUES (%s, %s, %s, %s)"
                        " ON CONFLICT (conversation_id, bot) DO UPDATE SET state = excluded.state,"
                        " updated = excluded.updated",
                        states,
                    )
                    cur.executemany(
                        "INSERT INTO state_history (conversation_id, bot, seq, created, source, state)"
                        " VALUES (%s, %s, %s, %s, %s, %s)",
                        history,
                    )
            for cid, columns in touched.items():
                if columns:
                    self._update(conn, cid, columns)

    def messages(self, cid: str) -> list[dict[str, Any]]:
        cols = ["id", "conversation_id", "seq", "world", "world_instance", "agent", "role", "created", "text"]
        with self.transaction() as conn:
            rows = conn.execute(
                f"SELECT {', '.join(cols)}, act, trace FROM messages WHERE conversation_id = %s ORDER BY seq", (cid,)
            ).fetchall()
        out = []
        for r in rows:
            row = dict(zip(cols, r[:-2], strict=True))
            row["act"] = json.loads(r[-2]) if r[-2] else {}
            row["trace"] = json.loads(r[-1]) if r[-1] else None
            out.append(row)
        return out

    def last_trace(self, cid: str, bot: str) -> dict[str, Any] | None:
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT trace FROM messages WHERE conversation_id = %s AND agent = %s AND trace IS NOT NULL"
                " ORDER BY seq DESC LIMIT 1",
                (cid, bot),
            ).fetchone()
        return json.loads(row[0]) if row else None

    def state(self, cid: str, bot: str) -> dict[str, Any] | None:
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT state FROM engine_state WHERE conversation_id = %s AND bot = %s", (cid, bot)
            ).fetchone()
        return json.loads(row[0]) if row else None

    def states(self, cid: str) -> dict[str, dict[str, Any]]:
        with self.transaction() as conn:
            rows = conn.execute("SELECT bot, state FROM engine_state WHERE conversation_id = %s", (cid,)).fetchall()
        return {bot: json.loads(state) for bot, state in rows}

    # -- state history ------------------------------------------------------------------
    def state_history(self, cid: str, bot: str | None = None) -> list[StateAt]:
        sql = "SELECT conversation_id, bot, seq, created, source, state FROM state_history WHERE conversation_id = %s"
        args: list[str] = [cid]
        if bot is not None:
            sql += " AND bot = %s"
            args.append(bot)
        with self.transaction() as conn:
            rows = conn.execute(sql + " ORDER BY id", args).fetchall()
        return [StateAt(c, b, seq, created, json.loads(state), source) for c, b, seq, created, source, state in rows]

    def states_at(self, cid: str, seq: int) -> dict[str, dict[str, Any]]:
        with self.transaction() as conn:
            rows = conn.execute(
                "SELECT DISTINCT ON (bot) bot, state FROM state_history WHERE conversation_id = %s AND seq <= %s"
                " ORDER BY bot, id DESC",
                (cid, seq),
            ).fetchall()
        return {bot: json.loads(state) for bot, state in rows}

    def prune_state_history(self, before: float | None = None, keep: int | None = None) -> int:
        gone = 0
        with self.transaction() as conn:
            if before is not None:
                gone += conn.execute("DELETE FROM state_history WHERE created < %s", (before,)).rowcount
            if keep is not None:
                gone += conn.execute(
                    "DELETE FROM state_history WHERE id IN (SELECT id FROM (SELECT id, row_number() OVER"
                    " (PARTITION BY conversation_id, bot ORDER BY id DESC) AS n FROM state_history) ranked"
                    " WHERE n > %s)",
                    (max(0, keep),),
                ).rowcount
        return gone

    def iter_conversations(self) -> Iterator[dict[str, Any]]:
        with self.transaction() as conn:
            ids = [r[0] for r in conn.execute("SELECT id FROM conversations ORDER BY created, n").fetchall()]
        for cid in ids:
            conv = self.conversation(cid)
            if conv is None:
                continue
            conv["messages"] = self.messages(cid)
            conv["engine_state"] = self.states(cid)
            yield conv

    # -- what engines keep --------------------------------------------------------------
    def documents(self, name: str) -> Any:
        found = self._documents.get(name)
        if found is None:
            found = self._documents.setdefault(name, self._document_class(self, name))
        return found

    def document_sets(self) -> list[str]:
        with self.transaction() as conn:
            rows = conn.execute(
                "SELECT name FROM doc_sets WHERE rev > 0 OR source IS NOT NULL ORDER BY name"
            ).fetchall()
        return [r[0] for r in rows]

    def vectors(self, model: str) -> PostgresVectorCache:
        return PostgresVectorCache(self, model)

    # -- evaluation ----------------------------------------------------------------------
    @property
    def study(self) -> Any:
        return self._study

    # -- channels ----------------------------------------------------------------------
    def claim_event(self, scope: str, key: str, window: float) -> bool:
        now = time.time()
        with self.transaction() as conn:
            conn.execute("DELETE FROM seen_events WHERE scope = %s AND seen < %s", (scope, now - window))
            cur = conn.execute(
                "INSERT INTO seen_events (scope, key, seen) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                (scope, key, now),
            )
            return cur.rowcount == 1

    # -- moving data between backends -----------------------------------------------------
    def export_rows(self, table: str, columns: list[str], batch: int = 1000) -> Iterator[list[tuple]]:
        _known(table)
        with self.pool.connection() as conn, conn.cursor(name=f"export_{table}") as cur:
            # a server-side cursor: a large table streams in batches instead of loading at once
            cur.itersize = batch
            cur.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {ORDER[table]}")
            while True:
                rows = cur.fetchmany(batch)
                if not rows:
                    return
                yield [tuple(r) for r in rows]

    def import_rows(self, table: str, columns: list[str], rows: list[tuple]) -> None:
        _known(table)
        marks = ", ".join(["%s"] * len(columns))
        with self.transaction() as conn, conn.cursor() as cur:
            cur.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
            if table == "messages" and rows:
                ids = sorted({r[columns.index("conversation_id")] for r in rows})
                cur.execute(
                    "UPDATE conversations c SET last_seq = greatest(c.last_seq, m.top) FROM"
                    " (SELECT conversation_id, max(seq) AS top FROM messages WHERE conversation_id = ANY(%s)"
                    " GROUP BY conversation_id) m WHERE c.id = m.conversation_id",
                    (ids,),
                )

    def count_rows(self, table: str) -> int:
        _known(table)
        with self.transaction() as conn:
            return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

    def close(self) -> None:
        self.pool.close()


def _known(table: str) -> None:
    """Table names are spliced into SQL: only the store's own are accepted."""
    if table not in TABLES:
        raise ValueError(f"unknown table {table!r}")
