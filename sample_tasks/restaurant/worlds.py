"""Python for the booking bot: forms_bot's SpaAnswerParse, a date validator, a required-slots hook."""

from __future__ import annotations

import datetime as dt

from workbench import action, hook, validator


@action("spa_answer_parse")
def spa_answer_parse(ctx):
    """The follow-up of the spa question: affirm/deny (or a typed yes/no) sets has_spa."""
    text = ctx.text.strip().lower()
    if ctx.intent == "affirm" or text in ("yes", "y", "yeah", "sure"):
        return {"slots": {"has_spa": True}, "say": "Noted, a spa it is."}
    if ctx.intent == "deny" or text in ("no", "n", "nope"):
        return {"slots": {"has_spa": False}, "say": "Alright, no spa needed."}
    return None  # not an answer: the form asks again


@validator("after_startdate")
def after_startdate(value, ctx):
    """The check-out day must come after the check-in day."""
    start = ctx.slots.get("startdate")
    if start and dt.date.fromisoformat(value) <= dt.date.fromisoformat(start):
        raise ValueError(f"Your stay has to end after it starts ({start}).")
    return value


@hook("breakfast_for_long_stays")
def breakfast_for_long_stays(required, ctx):
    """Stays of more than three nights also ask about breakfast."""
    start, end = ctx.slots.get("startdate"), ctx.slots.get("enddate")
    if start and end and (dt.date.fromisoformat(end) - dt.date.fromisoformat(start)).days > 3:
        return [*required, "breakfast"]
    return required
