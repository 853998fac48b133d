"""Per-person outboxes: what one PSID is sent goes out in order, by one task at a time,
while other people's replies go out alongside."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from workbench.message import Message
from workbench.services.messenger.graph import GraphError

if TYPE_CHECKING:
    from workbench.runtime.session import Session
    from workbench.services.messenger.sender import Sender

log = logging.getLogger(__name__)

#: a sender action ("mark_seen"...) or a runtime message
OutItem = tuple[Literal["action"], str] | tuple[Literal["message"], Message]


class Person:
    """One PSID: their live session (if any) and their outbox, sent in order by one task."""

    def __init__(self, psid: str) -> None:
        self.psid = psid
        self.session: Session | None = None
        self.outbox: asyncio.Queue[OutItem] = asyncio.Queue()
        self.worker: asyncio.Task[None] | None = None
        #: one connect per person, messages in arrival order
        self.lock = asyncio.Lock()

    @property
    def sending(self) -> bool:
        return not self.outbox.empty() or (self.worker is not None and not self.worker.done())


class Outbox:
    """Queues items per person and drains each queue through the Sender."""

    def __init__(self, sender: Callable[[], Sender], drained: Callable[[Person], None]) -> None:
        self._sender = sender
        self._drained = drained

    def queue(self, person: Person, item: OutItem) -> None:
        person.outbox.put_nowait(item)
        if person.worker is None or person.worker.done():
            person.worker = asyncio.ensure_future(self._drain(person))

    async def _drain(self, person: Person) -> None:
        sender = self._sender()
        while not person.outbox.empty():
            item = person.outbox.get_nowait()
            try:
                if item[0] == "action":
                    await sender.graph.sender_action(person.psid, item[1])
                else:
                    await sender.send(person.psid, item[1])
            except GraphError as exc:
                sender.report(exc, item[1] if item[0] == "action" else "a reply", person.psid)
            except asyncio.CancelledError:
                raise
            except Exception:  # a malformed reply or a bug: logged, the next one still goes out
                log.exception("messenger: could not send to %s", person.psid)
            finally:
                person.outbox.task_done()
        self._drained(person)

    @staticmethod
    async def finish(people: list[Person], timeout: float) -> None:
        """Wait up to ``timeout`` s for every person's queued items to go out; cancel the rest."""
        workers = [p.worker for p in people if p.worker is not None and not p.worker.done()]
        if not workers:
            return
        _, late = await asyncio.wait(workers, timeout=max(0.1, timeout))
        for t in late:
            t.cancel()
        if late:
            log.warning("messenger: %d people's replies were still unsent at shutdown", len(late))
