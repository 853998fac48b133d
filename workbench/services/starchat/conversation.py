"""get_next_response: one turn of a user's conversation, taken through the runtime.

The request becomes a message (its text, ``return_value``, ``data`` and
``evaluation_class``, in protocol mode for the decision-table engine) and goes through
:meth:`Runner.one_shot`: the task's safety rules, the runner's events, the group commit
and the stored engine state are those of every other channel. The answer keeps
starchat's shapes: 200 with the state reached, 204 when there is none, 404 when
``return_value`` names no state, 422 when a template cannot be filled.

Conversations are one per ``user_id`` and per kind of caller: a caller with the token
(a trusted back end, channel ``rest``) and anonymous callers (channel ``rest-public``)
never share one. An anonymous caller's turn uses only the data its own request sent,
and the answer's ``data`` holds only that and what the turn found, so knowing a
``user_id`` reveals nothing another request stored.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from workbench.engines.decision_table.engine import PROTOCOL
from workbench.message import Message
from workbench.services.starchat.auth import Caller
from workbench.services.starchat.bodies import json_body
from workbench.services.starchat.errors import ApiError
from workbench.services.starchat.schemas import ResponseDocument, ResponseRequest, TemplateError
from workbench.services.starchat.service import Starchat, answer

WORLD = "get_next_response"
TRUSTED_CHANNEL = "rest"
PUBLIC_CHANNEL = "rest-public"


def message_of(body: ResponseRequest, caller: Caller) -> Message:
    """The act the engine steps on: starchat's request in the message's own keys."""
    message = Message(
        text=body.said,
        id=str(body.user_id),
        data=body.variables,
        meta={"protocol": PROTOCOL, "conversation_data": caller.trusted},
    )
    if body.next_state:
        message["return_value"] = body.next_state
    if body.evaluation_class:
        message["evaluation_class"] = body.evaluation_class
    return message


async def get_next_response(api: Starchat, request: Request, caller: Caller) -> Response:
    """The next state of the user's conversation."""
    body = await json_body(request, ResponseRequest, api.max_body)
    bot = api.bot(request)
    turn = await api.runner.one_shot(
        message_of(body, caller),
        person=str(body.user_id),
        channel=TRUSTED_CHANNEL if caller.trusted else PUBLIC_CHANNEL,
        bot=bot,
        world=WORLD,
    )
    if turn.received is None:
        return answer(
            TemplateError(
                code=101,
                message="the message was not passed on: the task's safety rules hold it back",
                detail=" ".join(turn.notices) or None,
            ),
            422,
        )
    trace = turn.trace or {}
    outcome = trace.get("outcome")
    if outcome == "not_found":
        raise ApiError(404, str(trace.get("error") or "no such state"), field="return_value")
    if outcome == "template_error":
        return answer(
            TemplateError(
                code=100, message="error evaluating the template strings, bad values", detail=trace.get("error")
            ),
            422,
        )
    replies = [r for r in turn.replies if isinstance((r.get("meta") or {}).get("document"), dict)]
    if not replies:
        return Response(status_code=204)
    reply = replies[-1]
    document = dict(reply["meta"]["document"])
    document["bubble"] = reply.text  # as delivered: the outgoing safety rules applied
    document["data"] = dict((turn.state or {}).get("data") or {})
    if turn.notices:
        document["notices"] = turn.notices
    return answer(ResponseDocument.model_validate(document))
