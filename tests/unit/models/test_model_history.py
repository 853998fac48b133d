"""A model bot's conversation as engine state: the window sent each turn (turns, tokens), what a
cancelled or failed reply leaves, rewinding for a regeneration, per-conversation settings, and
the parameters checked as task.yml and the TUI give them."""

from __future__ import annotations

import threading

import pytest

from workbench.engines.models import history
from workbench.engines.models.request import ModelRequest, estimate_tokens
from workbench.engines.models.settings import History, Params, check_params
from workbench.engines.streaming import ReplyStream


def chat(*pairs: tuple[str, str]) -> dict:
    state = history.initial_state()
    for asked, said in pairs:
        state = history.recorded(state, asked, said)
    return state


def test_the_window_keeps_the_last_turns_and_starts_with_the_person() -> None:
    state = chat(("a", "A"), ("b", "B"), ("c", "C"))
    sent = history.messages_for(state, "d", "sys", History(turns=2), estimate_tokens)
    assert [m["content"] for m in sent] == ["sys", "b", "B", "c", "C", "d"]
    none = history.messages_for(state, "d", None, History(turns=0), estimate_tokens)
    assert none == [{"role": "user", "content": "d"}]


def test_the_window_keeps_as_many_earlier_tokens_as_allowed() -> None:
    state = chat(("x" * 40, "y" * 40), ("short", "reply"))
    sent = history.messages_for(state, "now", None, History(turns=None, tokens=5), estimate_tokens)
    # "reply" (2 tokens) and "short" (2) fit; the 10-token answer before them does not
    assert [m["content"] for m in sent] == ["short", "reply", "now"]
    cut_in_half = history.messages_for(state, "now", None, History(turns=None, tokens=3), estimate_tokens)
    assert [m["content"] for m in cut_in_half] == ["now"]  # never a reply without its question


def test_a_failed_reply_leaves_no_trace_in_the_history_and_a_cancelled_one_stays_marked() -> None:
    state = chat(("a", "A"))
    failed = history.recorded(state, "b", None)
    assert failed["history"] == state["history"] and failed["turns"] == 2
    assert history.recorded(state, "b", "", cancelled=True)["history"] == state["history"]
    stopped = history.recorded(state, "b", "par", cancelled=True)
    assert stopped["history"][-1] == {"role": "assistant", "content": "par", "cancelled": True}
    # what is sent drops the mark
    assert history.messages_for(stopped, "c", None, History(), estimate_tokens)[-2] == {
        "role": "assistant",
        "content": "par",
    }


def test_the_stored_history_is_bounded() -> None:
    state = history.initial_state()
    for i in range(history.MAX_STORED_MESSAGES):
        state = history.recorded(state, f"q{i}", f"a{i}")
    assert len(state["history"]) == history.MAX_STORED_MESSAGES
    assert state["history"][-1]["content"] == f"a{history.MAX_STORED_MESSAGES - 1}"


def test_rewinding_removes_the_last_exchange_and_keeps_the_reply_as_an_alternative() -> None:
    state = chat(("a", "A"), ("b", "B"))
    back = history.rewound(state)
    assert back is not None
    earlier, asked = back
    assert asked == "b" and [m["content"] for m in earlier["history"]] == ["a", "A"]
    assert earlier["alternatives"] == [{"at": 2, "question": "b", "content": "B"}]
    assert history.rewound(history.initial_state()) is None


def test_settings_for_one_conversation_replace_and_go_back() -> None:
    state = history.with_overrides(chat(("a", "A")), "be brief", {"temperature": 0.1})
    assert history.overrides(state) == {"system_prompt": "be brief", "params": {"temperature": 0.1}}
    assert "settings" not in history.with_overrides(state, None, None)
    assert history.with_overrides(state, "", None)["settings"] == {"system_prompt": ""}


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"temperature": 3}, "temperature: Input should be less than or equal to 2"),
        ({"top_p": 0}, "top_p: Input should be greater than 0"),
        ({"max_tokens": 0}, "max_tokens: Input should be greater than or equal to 1"),
        ({"stop": ["a", "b", "c", "d", "e"]}, "stop: List should have at most 4 items"),
        ({"weird": object()}, "weird: expected a number, string, boolean"),
        ("hot", "parameters must be a mapping"),
    ],
)
def test_bad_parameters_are_named(raw, message) -> None:
    with pytest.raises(ValueError, match=message):
        check_params(raw)


def test_parameters_pass_through_and_a_single_stop_string_becomes_a_list() -> None:
    assert check_params({"stop": "END", "top_k": 40, "min_p": 0.1}) == {"stop": ["END"], "top_k": 40, "min_p": 0.1}
    assert Params().given() == {}


def test_a_request_key_names_the_bot_model_messages_and_parameters_and_the_trace_is_bounded() -> None:
    messages = [{"role": "user", "content": "hi"}]
    key = ModelRequest("m", messages, {"seed": 1}).key("bot")
    assert key == ModelRequest("m", list(messages), {"seed": 1}, text="rendered").key("bot")
    assert (
        key != ModelRequest("m", messages, {"seed": 2}).key("bot") != ModelRequest("m", messages, {"seed": 1}).key("b")
    )
    long = [{"role": "user", "content": "x" * 10_000} for _ in range(5)]
    shown = ModelRequest("m", long, {}).for_trace()
    assert shown[0]["role"] == "note" and "earlier message(s) left out" in shown[0]["content"]
    assert sum(len(m["content"]) for m in shown[1:]) <= 20_000


def test_a_stream_takes_pieces_from_any_thread_and_cancels_once() -> None:
    import asyncio

    async def run() -> None:
        got: list[str] = []
        out = ReplyStream(lambda _, d: got.append(d))
        worker = threading.Thread(target=lambda: [out.write(str(i)) for i in range(100)])
        worker.start()
        worker.join()
        while len(got) < 100:
            await asyncio.sleep(0.001)
        assert got == [str(i) for i in range(100)] and out.text == "".join(got) and out.deltas == 100
        waiting = asyncio.ensure_future(out.wait_cancelled())
        threading.Thread(target=out.cancel, args=("elsewhere",)).start()
        await asyncio.wait_for(waiting, 5)
        assert out.cancelled and out.reason == "elsewhere" and not out.cancel("again")

    asyncio.run(run())
