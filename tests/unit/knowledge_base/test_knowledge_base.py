"""The knowledge base over a real SQLite store and a real tantivy index."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from workbench.engines.knowledge_base import QA, KnowledgeBase, KnowledgeBaseError
from workbench.index.embedded import EmbeddedIndex
from workbench.message import Message
from workbench.store import Commit, Record, Store, open_store

CSV_OK = """id,conversation,index_in_conversation,question,answer,verified,topics,doctype,state,status
0,832,11,thank you,you are welcome!,true,,normal,,0
1,832,3,how do I reset my password,use the link on the login page,true,account login,normal,,0
2,900,1,my account is locked,call the help desk,false,account,normal,,0
3,,,internal note about passwords,not for users,true,,hidden,,0
4,,,I want to talk to a person,,true,,decisiontable,call_operator,0
"""


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = open_store(tmp_path / "workbench.db")
    yield s
    s.close()


@pytest.fixture
def kb(store: Store) -> KnowledgeBase:
    base = KnowledgeBase(store, EmbeddedIndex(), "desk")
    base.import_csv(io.StringIO(CSV_OK))
    return base


def write_csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "kb.csv"
    path.write_text(text, encoding="utf-8")
    return path


# -- add / update / delete ----------------------------------------------------------
def test_add_update_delete_keep_store_and_index_in_step(kb: KnowledgeBase) -> None:
    added = kb.add({"question": "what are your business hours", "answer": "9 to 5", "verified": True})
    assert added.id and kb.get(added.id) == added
    assert kb.search("business hours")[0].qa.id == added.id
    kb.update(added.id, {"question": "when are you open", "topics": "hours"})
    assert kb.search("business hours") == []
    hit = kb.search("when are you open")[0]
    assert (hit.qa.id, hit.qa.answer, hit.qa.topics, hit.score) == (added.id, "9 to 5", "hours", 1.0)
    assert kb.delete(added.id) is True and kb.delete(added.id) is False
    assert kb.get(added.id) is None
    assert added.id not in {h.qa.id for h in kb.search("when are you open")}
    with pytest.raises(KeyError):
        kb.update("missing", {"answer": "x"})


def test_add_rejects_bad_fields_naming_them(kb: KnowledgeBase) -> None:
    with pytest.raises(KnowledgeBaseError) as caught:
        kb.add({"question": "", "answer": "a", "verified": "perhaps", "colour": "red"})
    text = str(caught.value)
    assert "verified: expected true or false, got 'perhaps'" in text
    assert "colour: unknown field" in text


def test_the_store_is_the_source_of_truth(store: Store, kb: KnowledgeBase) -> None:
    fresh = KnowledgeBase(store, EmbeddedIndex(), "desk")  # a new, empty index is rebuilt
    assert len(fresh) == 5
    assert fresh.search("reset my password")[0].qa.id == "1"
    other_bot = KnowledgeBase(store, EmbeddedIndex(), "booking")
    assert len(other_bot) == 0 and other_bot.search("thank you") == []


# -- search and answer --------------------------------------------------------------
def test_search_filters(kb: KnowledgeBase) -> None:
    assert {h.qa.id for h in kb.search("password account")} == {"1", "2"}  # hidden left out
    assert [h.qa.id for h in kb.search("password account", filters={"verified": False})] == ["2"]
    assert [h.qa.id for h in kb.search("passwords", filters={"doctype": "hidden"})] == ["3"]
    assert [h.qa.id for h in kb.search("password account", filters={"topics": "LOGIN"})] == ["1"]
    assert {h.qa.id for h in kb.search("password account", filters={"topics": ["account"], "verified": None})} == {
        "1",
        "2",
    }
    assert [h.qa.id for h in kb.search("person", filters={"state": "call_operator"})] == ["4"]
    with pytest.raises(ValueError, match="unknown knowledge-base filter 'colour'"):
        kb.search("x", filters={"colour": "red"})
    assert all(0 < h.score <= 1 for h in kb.search("thank you for the password"))


def test_answer_returns_the_best_verified_qa_above_the_threshold(kb: KnowledgeBase) -> None:
    best = kb.answer("thank you")
    assert best is not None and best.qa.answer == "you are welcome!" and best.score == 1.0
    assert kb.answer("my account is locked") is None  # the matching Q/A is not verified
    kb.update("2", {"verified": True})
    assert kb.answer("my account is locked").qa.id == "2"
    assert [qa.id for qa in kb.all()] == ["0", "1", "2", "3", "4"]  # an edit keeps its place
    partial = kb.answer("reset password").score
    assert 0 < partial < 1
    assert kb.answer("reset password", threshold=partial) is not None
    assert kb.answer("reset password", threshold=partial + 0.01) is None
    assert kb.answer("the weather in Paris") is None
    redirect = kb.answer("talk to a person")
    assert redirect.qa.doctype == "decisiontable" and redirect.qa.state == "call_operator"


# -- import / export ----------------------------------------------------------------
def test_csv_import_errors_name_row_and_column(tmp_path: Path, store: Store) -> None:
    path = write_csv(
        tmp_path,
        (
            "id,question,answer,verified,doctype,index_in_conversation,notes\n"
            "a,hello,hi there,true,normal,1,ok\n"
            "b,help,ask me,maybe,normal,2,\n"
            "c,hours,9 to 5,false,faq,3,\n"
            "d,no answer,,false,normal,x,\n"
            "a,hello again,hi,true,normal,5,\n"
            "e,too,many,cells,normal,6,,extra\n"
            "\n"
            'f,fine,"a two-line\nanswer",yes,,,\n'
            "g,,after a multi-line cell,yes,,,\n"
        ),
    )
    kb = KnowledgeBase(store, EmbeddedIndex(), "desk")
    with pytest.raises(KnowledgeBaseError) as caught:
        kb.import_csv(path)
    messages = [str(p) for p in caught.value.problems]
    assert messages == [
        f"{path}, row 1, column 'notes': unknown column (known: id, conversation, index_in_conversation, "
        "question, answer, verified, topics, doctype, state, status); its cells are ignored",
        f"{path}, row 3, column 'verified': expected true or false, got 'maybe'",
        f"{path}, row 4, column 'doctype': expected one of normal, hidden, decisiontable, got 'faq'",
        f"{path}, row 5, column 'index_in_conversation': expected a whole number, got 'x'",
        f"{path}, row 6, column 'id': 'a' is already used at row 2",
        f"{path}, row 7: has 8 cells but the header has 7 columns",
        f"{path}, row 10, column 'question': is empty: every Q/A needs a question",
    ]
    assert len(kb) == 0  # strict: nothing written
    report = kb.import_csv(path, strict=False)
    assert report.added == 2 and len(report.problems) == 7
    assert kb.get("f").answer == "a two-line\nanswer" and kb.get("f").verified is True


def test_csv_without_question_column_is_refused(tmp_path: Path, store: Store) -> None:
    kb = KnowledgeBase(store, EmbeddedIndex(), "desk")
    with pytest.raises(KnowledgeBaseError, match="row 1, column 'question': missing"):
        kb.import_csv(write_csv(tmp_path, "query,answer\nhi,hello\n"), strict=False)
    with pytest.raises(KnowledgeBaseError, match="is empty"):
        kb.import_csv(write_csv(tmp_path, ""))


def test_csv_header_spellings_and_derived_ids(tmp_path: Path, store: Store) -> None:
    kb = KnowledgeBase(store, EmbeddedIndex(), "desk")
    path = write_csv(tmp_path, "Question,Answer,indexInConversation,Verified\nhi,hello,4,1\nhi,hello,4,1\n")
    assert kb.import_csv(path).added == 1  # the same Q/A twice, without ids: one document
    assert kb.import_csv(path).added == 1 and len(kb) == 1  # importing again changes nothing
    (qa,) = kb.all()
    assert (qa.index_in_conversation, qa.verified, len(qa.id)) == (4, True, 16)


def test_jsonl_import_errors_name_line_and_field(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "kb.jsonl"
    path.write_text(
        '{"id": "1", "question": "hi", "answer": "hello", "verified": true}\n'
        '{"id": "2", "question": "oops"\n'
        '["not", "an", "object"]\n'
        '{"id": "3", "question": "hours", "answer": "9 to 5", "status": "high"}\n'
        "\n"
        '{"id": 4, "question": "topics", "answer": "as a list", "topics": ["a", "b"]}\n',
        encoding="utf-8",
    )
    kb = KnowledgeBase(store, EmbeddedIndex(), "desk")
    with pytest.raises(KnowledgeBaseError) as caught:
        kb.import_jsonl(path)
    assert [str(p) for p in caught.value.problems] == [
        f"{path}:2:31: the line is not valid JSON: Expecting ',' delimiter",
        f"{path}:3: expected a JSON object, got list",
        f"{path}:4: status: expected a whole number, got 'high'",
    ]
    report = kb.import_jsonl(path, strict=False)
    assert report.added == 2 and kb.get("4").topics == "a b"


def test_export_round_trips_through_csv_and_jsonl(tmp_path: Path, store: Store, kb: KnowledgeBase) -> None:
    assert kb.export_csv(tmp_path / "out.csv") == 5
    assert kb.export_jsonl(tmp_path / "out.jsonl") == 5
    first = json.loads((tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert first == {
        "id": "0",
        "conversation": "832",
        "index_in_conversation": 11,
        "question": "thank you",
        "answer": "you are welcome!",
        "verified": True,
        "topics": "",
        "doctype": "normal",
        "state": "",
        "status": 0,
    }
    for name, load in (("out.csv", "import_csv"), ("out.jsonl", "import_jsonl")):
        copy = KnowledgeBase(store, EmbeddedIndex(), f"copy-{name}")
        getattr(copy, load)(tmp_path / name)
        assert copy.all() == kb.all()


# -- live conversations ---------------------------------------------------------------
def test_add_exchanges_from_a_stored_conversation(store: Store, kb: KnowledgeBase) -> None:
    cid = store.new_conversation("helpdesk", "alice")
    store.commit(
        Commit(
            records={
                cid: [
                    Record(Message(text="hello"), role="world"),  # a world's greeting asks nothing
                    Record(Message(text="I cannot log in"), role="human"),
                    Record(
                        Message(text="did you forget your password?"), role="bot", trace={"state": "forgot_password"}
                    ),
                    Record(Message(text="yes"), role="human"),
                    Record(Message(text="I sent you a reset link."), role="bot"),
                    Record(Message(text="Anything else?"), role="bot"),
                    Record(Message(text="bye"), role="human"),  # no reply: not an exchange
                ]
            }
        )
    )
    added = kb.add_exchanges(cid)
    assert [(q.question, q.answer, q.index_in_conversation, q.state, q.verified) for q in added] == [
        ("I cannot log in", "did you forget your password?", 2, "forgot_password", False),
        ("yes", "I sent you a reset link.\nAnything else?", 4, "", False),
    ]
    assert added[0].id == f"{cid}-2" and added[0].conversation == cid
    assert kb.add_exchanges(cid) == added and len(kb) == 7  # again: updated, not duplicated
    assert kb.search("cannot log in")[0].qa.id == f"{cid}-2"
    assert kb.answer("I cannot log in") is None  # unverified until someone checks it
    kb.update(f"{cid}-2", {"verified": True})
    assert kb.answer("I cannot log in").qa.answer == "did you forget your password?"
    with pytest.raises(KeyError):
        kb.add_exchanges("no-such-conversation")


def test_consecutive_human_messages_form_one_question(store: Store, kb: KnowledgeBase) -> None:
    cid = store.new_conversation("helpdesk", "bob")
    store.commit(
        Commit(
            records={
                cid: [
                    Record(Message(text="hi"), role="human"),
                    Record(Message(text="my card is blocked"), role="human"),
                    Record(Message(text="I can unblock it"), role="bot"),
                ]
            }
        )
    )
    (qa,) = kb.add_exchanges(cid, store, verified=True)
    assert (qa.question, qa.answer, qa.verified) == ("hi my card is blocked", "I can unblock it", True)


def test_qa_dataclass_matches_starchat_shape() -> None:
    qa = QA(question="thank you", answer="you are welcome!", id="0", conversation="832", index_in_conversation=11)
    assert list(qa.to_dict()) == [
        "id",
        "conversation",
        "index_in_conversation",
        "question",
        "answer",
        "verified",
        "topics",
        "doctype",
        "state",
        "status",
    ]
