"""boteval task directories load as they are (issue 12): its example task maps onto the
evaluation section with a warning for each key that is not mapped; a thread exports in
the shape boteval writes (tests/fixtures/boteval/export_example_thread.json)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from support import FIXTURES

from workbench.evaluation.export import boteval_thread, thread_file_name
from workbench.evaluation.study import Study
from workbench.evaluation.transforms import BUILT_IN
from workbench.problems import TaskError
from workbench.store import Account, open_store
from workbench.task import load_task
from workbench.task.formats.boteval import BUILT_IN_TRANSFORMS

EXAMPLE = FIXTURES / "boteval" / "example-chat-task"


@pytest.fixture
def example(tmp_path: Path) -> Path:
    return Path(shutil.copytree(EXAMPLE, tmp_path / "example-chat-task"))


def test_eval_boteval_example_maps_onto_the_evaluation_section(example: Path) -> None:
    task = load_task(example)
    ev = task.spec.evaluation
    assert task.format == "boteval"
    assert ev.bot == "hf-transformers" and ev.display_name == "Moderator" and ev.topics_file == "chat_topics.json"
    assert task.bot_configs["hf-transformers"].engine == "echo"  # boteval's model stands in as an echo bot
    assert (ev.limits.max_threads_per_person, ev.limits.max_threads_per_topic, ev.limits.max_turns_per_thread) == (
        10,
        3,
        4,
    )
    assert (
        ev.onboarding.agreement_file == "user-agreement.html" and ev.onboarding.instructions_file == "instructions.html"
    )
    assert list(ev.onboarding.checkboxes) == ["instructions_read", "iam_adult"]
    assert [q.question for q in ev.questions][0] == "How Coherent was the conversation?"
    assert all(q.kind == "likert" and q.choices[0] == "Not at all" for q in ev.questions)
    assert ev.transforms.human == [] and [t.name for t in ev.transforms.bot] == ["dummy"]
    assert ev.mturk is None  # the example's section is `_mturk` (disabled)
    warned = "\n".join(task.warnings)
    for key in (
        "chatbot.bot_name",
        "chatbot.transforms.human.0",
        "chatbot.transforms.bot.0",
        "limits.reward",
        "limits.desired_rate",
        "chat_dir",
        "_mturk",
        "flask_config",
    ):
        assert f": {key}: " in warned, key
    assert all(":" in w.split("conf.yml", 1)[1][:6] for w in task.warnings)  # each names its line
    study = Study(task, open_store(":memory:"))
    assert [t.id for t in study.topics] == ["chat01", "chat02", "chat03"]
    assert study.topics[0].target_user == "B" and len(study.topics[0].seed) == 6


def test_eval_boteval_mturk_section_maps_its_client_and_hit_settings(example: Path) -> None:
    conf = (example / "conf.yml").read_text().replace("\n_mturk:", "\nmturk:")
    (example / "conf.yml").write_text(conf)
    task = load_task(example)
    mturk = task.spec.evaluation.mturk
    assert mturk.sandbox is True and mturk.profile == "default"
    assert mturk.hit_settings["MaxAssignments"] == 3 and mturk.hit_settings["Reward"] == "0.01"
    assert "DesiredRate" not in mturk.hit_settings
    warned = "\n".join(task.warnings)
    assert "mturk.seamless_login" in warned and "mturk.hit_settings.DesiredRate" in warned


def test_eval_a_broken_topics_file_is_named(example: Path) -> None:
    (example / "chat_topics.json").write_text('[{"id": "a", "conversation": [{"speaker_id": "x"}]}]')
    task = load_task(example)
    with pytest.raises(TaskError) as err:
        Study(task, open_store(":memory:"))
    assert "chat_topics.json" in str(err.value) and "[0].conversation" in str(err.value)


def test_eval_built_in_transforms_are_known_to_the_importer() -> None:
    assert set(BUILT_IN) == BUILT_IN_TRANSFORMS


def test_eval_a_thread_exports_in_boteval_shape(example: Path) -> None:
    fixture = json.loads((FIXTURES / "boteval" / "export_example_thread.json").read_text())
    task = load_task(example)
    store = open_store(":memory:")
    task.use_store(store)
    study = Study(task, store)
    account = store.study.create_account(Account("dev", "Developer", "worker"))
    study.give_consent(account, set(study.checkboxes))
    thread = study.start_thread(account)
    from workbench.message import Message
    from workbench.store import Commit, Record

    topic = study.topic_by_id[thread.topic]
    records = [
        Record(Message(id=t.speaker, text=t.text, meta={"seed": True, "speaker_id": t.speaker}), role="world")
        for t in topic.seed
    ]
    records += [
        Record(Message(id="Moderator", text="Hello!"), role="bot", agent="hf-transformers"),
        Record(Message(id="dev", text="hi (transformed)", meta={"text_orig": "hi"}), role="human", agent="dev"),
        Record(Message(id="System", text="end"), role="system"),
    ]
    store.commit(Commit(records={thread.id: records}))
    study.finish_chat(thread.id)
    study.submit(
        account,
        thread.id,
        {study.questions[0].key: "Somewhat", study.questions[1].key: "3", study.questions[2].key: "0"},
    )
    out = boteval_thread(study, store.study.thread(thread.id), study.ratings(thread.id))
    assert set(out) == set(fixture)
    assert set(out["data"]) >= {"id", "name", "conversation", "target_user", "ratings", "rating_done"}
    assert {u["role"] for u in out["users"]} == {u["role"] for u in fixture["users"]}
    assert set(out["users"][0]) == set(fixture["users"][0])
    assert set(out["messages"][0]) == set(fixture["messages"][0])
    seed = out["messages"][0]
    assert seed["is_seed"] is True and seed["user_id"] == "context" and seed["data"]["fake_start"] is True
    human = next(m for m in out["messages"] if m["user_id"] == "dev")
    assert human["data"]["text_orig"] == "hi" and human["is_seed"] is None
    assert out["data"]["ratings"]["dev"]["How Coherent was the conversation?"] == "3"  # 0-based, as boteval stores it
    assert out["data"]["rating_done"] is True and out["episode_done"] is True
    assert out["meta"]["rating_questions"][0]["choices"][0] == "Not at all"
    assert not any(m["text"] == "end" for m in out["messages"])
    assert thread_file_name(store.study.thread(thread.id)) == f"{thread.topic}_{thread.id}.json"
