"""Safety utilities: detection on real-looking samples, and the rules in the runtime whatever the
channel. (Over a websocket, with /report: tests/e2e/serve/test_safety_rules.py.)"""

from __future__ import annotations

import pytest
from support import SAFE_TASK, wait_for, write_task

from workbench.runtime.safety import Safety, blocklist_pattern, find, luhn_ok, mask
from workbench.task.schema import SafetySpec


def kinds(text: str) -> list[tuple[str, str]]:
    return [(f.kind, f.text) for f in find(text)]


@pytest.mark.parametrize(
    "number",
    [
        "4111 1111 1111 1111",  # Visa test number, in groups of four
        "4111-1111-1111-1111",
        "4012888888881881",
        "5555 5555 5555 4444",  # Mastercard
        "2223 0031 2200 3222",  # Mastercard 2-series
        "3782 822463 10005",  # American Express, 4-6-5
        "6011 1111 1111 1117",  # Discover
    ],
)
def test_valid_card_numbers_are_found_anywhere_in_the_text(number) -> None:
    assert kinds(f"my card is {number}, expires 12/27") == [("card_number", number)]
    assert kinds(f"{number}") == [("card_number", number)]


@pytest.mark.parametrize(
    "text",
    [
        "4111 1111 1111 1112",  # fails the Luhn check
        "order 1234567890123 shipped",  # 13 digits, not Luhn-valid
        "tracking 1Z 999 AA1 01 2345 6784",
        "call 0800 1111 111",
        "pi is 3.14159265358979",
        "9111 1111 1111 1119",  # Luhn-valid but no card starts with 9 here
    ],
)
def test_numbers_that_are_not_cards_are_left_alone(text) -> None:
    assert not [k for k, _ in kinds(text) if k == "card_number"]


def test_a_card_followed_by_more_digits_is_still_found() -> None:
    assert kinds("5555555555554444 2027") == [("card_number", "5555555555554444")]
    assert luhn_ok("79927398713") and not luhn_ok("79927398710")


@pytest.mark.parametrize(
    "phone",
    [
        "+1 (555) 123-4567",
        "555-123-4567",
        "(555) 123 4567",
        "555.123.4567",
        "+44 20 7946 0958",
        "+33 1 23 45 67 89",
        "020 7946 0958",
        "+4915112345678",
    ],
)
def test_phone_numbers_in_their_usual_shapes(phone) -> None:
    assert kinds(f"reach me on {phone} after six") == [("phone", phone)]


@pytest.mark.parametrize(
    "text",
    [
        "the meeting is on 2024-01-15",
        "server 192.168.100.200",
        "version 1.2.3",
        "it costs 1,299.99",
        "order 12345678",
        "room 101 at 10.30",
    ],
)
def test_dates_addresses_and_amounts_are_not_phones(text) -> None:
    assert kinds(text) == []


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("write to jane.doe+orders@example.co.uk please", "jane.doe+orders@example.co.uk"),
        ("ops@mail.example.com.", "ops@mail.example.com"),
    ],
)
def test_email_addresses(text, found) -> None:
    assert kinds(text) == [("email", found)]


def test_not_email_addresses() -> None:
    assert kinds("twitter handle @jane and a@b") == []


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("SSN 123-45-6789", "123-45-6789"),
        ("ssn: 078 05 1120", "078 05 1120"),
        ("SIN 130 692 544", "130 692 544"),  # Canadian SIN, Luhn-valid
        ("NI number AB 12 34 56 C", "AB 12 34 56 C"),  # UK National Insurance
        ("nino AB123456C", "AB123456C"),
    ],
)
def test_national_ids(text, found) -> None:
    assert kinds(text) == [("national_id", found)]


@pytest.mark.parametrize("text", ["000-12-3456", "666-12-3456", "123-00-4567", "QQ 12 34 56 C"])
def test_invalid_national_ids_are_not_ids(text) -> None:
    assert "national_id" not in [k for k, _ in kinds(text)]


def test_mask_replaces_each_finding_with_its_label() -> None:
    text = "card 4111 1111 1111 1111, phone +1 (555) 123-4567, mail a.b@example.org"
    assert mask(text, find(text)) == "card [card number], phone [phone number], mail [e-mail]"


def test_blocklist_whole_words_phrases_and_wildcards() -> None:
    pattern = blocklist_pattern(["darn", "heck*", "bad  word", "# a comment", ""])
    found = find("Darn it! What the HECKIN bad word, said the darnedest man", ["blocklist"], pattern)
    assert [f.text for f in found] == ["Darn", "HECKIN", "bad word"]


def test_the_rules_mask_warn_or_block_per_kind() -> None:
    spec = SafetySpec.model_validate({"incoming": {"card_number": "block", "phone": "mask", "email": "warn"}})
    safety = Safety(spec)
    v = safety.check("call +44 20 7946 0958 or mail x@example.com", "incoming")
    assert v.action == "warn" and v.text == "call [phone number] or mail x@example.com"
    v = safety.check("4111 1111 1111 1111 and +44 20 7946 0958", "incoming")
    assert v.action == "block" and v.blocked == ["card_number"]
    assert safety.check("4111 1111 1111 1111", "outgoing").action == "pass"
    assert safety.is_report("/report the bot was rude") == "the bot was rude"
    assert safety.is_report("/REPORT") == ""
    assert safety.is_report("/reporter") is None


async def test_the_rules_belong_to_the_runtime_not_to_a_channel(tmp_path) -> None:
    """The same rules without any server: a session driven directly, as the TUI and tests do."""
    from workbench.runtime.runner import Runner
    from workbench.store import open_store
    from workbench.task import load_task

    task = load_task(write_task(tmp_path / "safe", SAFE_TASK, files={"blocklist.txt": ""}))
    store = open_store(tmp_path / "direct.db")
    task.use_store(store)
    runner = Runner(task, store)
    got: list[str] = []
    session = await runner.connect(lambda m: got.append(m.text), channel="terminal")
    try:
        assert await runner.wait_idle(timeout=5)
        session.put("ring +44 20 7946 0958")
        assert await runner.wait_idle(timeout=5)
        session.put("card 4111-1111-1111-1111")
        await wait_for(lambda: any("was not sent" in t for t in got[2:]), what="the blocked message's note")
        assert got[:2] == ["Hello.", "ring [phone number]"]
    finally:
        await runner.stop(wait=2)
        store.close()
