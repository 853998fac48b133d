"""Decision-table and knowledge-base readers: bad cells are Problems at their row and column,
numbers are bounded where they are stored, analyzers nest boundedly and run on RE2."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from workbench.engines.decision_table.analyzer import MAX_NESTING, AnalyzerError, Env, evaluate, parse, tokenize
from workbench.engines.decision_table.patterns import Pattern, PatternError
from workbench.engines.decision_table.table_io import read_csv, read_file, read_json
from workbench.engines.knowledge_base import KnowledgeBase, KnowledgeBaseError, parse_qa
from workbench.index.embedded import EmbeddedIndex
from workbench.problems import TaskError
from workbench.store import open_store

HEADER = "state,execution_order,max_state_count,analyzer,queries,bubble,action_input,state_data\n"


def row_problems(cells: str) -> list[str]:
    read = read_csv(HEADER + "start,1,0,,,hi,,\n" + cells + "\n", "t.csv")
    assert [s.state for s in read.states] == ["start"]
    return [str(p) for p in read.errors]


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("inf", "the number 'inf' is too large"),
        ("1e30", "the number '1e30' is too large"),
        ("9" * 5000, "is too large (at most 9223372036854775807)"),
        ("nan", "expected a whole number, got 'nan'"),
        (str(2**40), "input should be less than or equal to 2147483647"),
    ],
)
def test_numbers_in_csv_cells_are_bounded(cell: str, message: str) -> None:
    (p,) = row_problems(f"b,{cell},0,,,hi,,")
    assert p.startswith("t.csv, row 3, column 2 (execution_order) [state b]: ") and message in p


def test_deep_json_cells_and_wrong_types_are_problems_at_their_cell() -> None:
    deep = '"' + '{""a"": ' * 5000 + "1" + "}" * 5000 + '"'
    (p,) = row_problems(f"b,1,0,,,hi,,{deep}")
    assert p == "t.csv, row 3, column 8 (state_data) [state b]: the cell is nested more than 32 levels deep"
    (p,) = row_problems('b,1,0,,,hi,"[1, 2]",')
    assert "column 7 (action_input)" in p


def test_an_analyzer_nested_3000_deep_is_a_problem_with_its_position() -> None:
    source = "bor(" * 3000 + 'keyword("x")' + ")" * 3000
    with pytest.raises(AnalyzerError) as info:
        parse(source)
    assert info.value.char == 4 * MAX_NESTING + 1 and "nested more than" in info.value.message
    (p,) = row_problems(f'b,1,0,"{source}",,hi,,')
    assert "column 4 (analyzer), character 201" in p
    assert parse("bor(" * MAX_NESTING + 'keyword("x")' + ")" * MAX_NESTING) is not None


def test_json_tables_are_bounded_in_depth_and_numbers() -> None:
    deep = read_json("[" * 100_000 + "]" * 100_000, "t.json")
    assert [str(p) for p in deep.errors] == ["t.json: the table is nested more than 64 levels deep"]
    big = read_json('[{"state": "a", "execution_order": 1e30}, {"state": "b", "max_state_count": -1}]', "t.json")
    assert [(p.row, p.key) for p in big.errors] == [(1, "execution_order"), (2, "max_state_count")]
    syntax = read_json('[{"state": "a",\n "bubble": }]', "t.json")
    assert [(p.line, p.column) for p in syntax.errors] == [(2, 12)]


def test_a_table_file_that_cannot_be_read_is_one_problem(tmp_path: Path) -> None:
    fifo = tmp_path / "table.csv"
    os.mkfifo(fifo)
    read = read_file(fifo)
    assert read.layout == "unreadable" and not read.states
    assert [str(p) for p in read.errors] == [f"{fifo}: is a named pipe, not a regular file; expected a decision table"]


# -- patterns ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("analyzer", "message"),
    [
        (r'regex("(a)\\1")', "backreferences"),
        ('regex("x(?=y)")', "lookahead and lookbehind"),
        ('vOneKeyword("(?<!a)b")', "lookahead and lookbehind"),
        ('regex("a{2000}")', "RE2 cannot compile it"),
    ],
)
def test_patterns_re2_cannot_run_are_reported_when_the_table_loads(analyzer: str, message: str) -> None:
    (p,) = row_problems(f'b,1,0,"{analyzer.replace(chr(34), chr(34) * 2)}",,hi,,')
    assert "column 4 (analyzer), character" in p and "invalid regular expression" in p and message in p


@pytest.mark.timeout(60)
def test_a_catastrophic_pattern_cannot_stall_a_turn() -> None:
    # with a backtracking engine this message would take longer than the universe has left
    node = parse('band(regex("^(a+)+$"), vOneKeyword("(a|aa)+"))')
    text = "a" * 5000 + "!"
    assert evaluate(node, Env(text, tokenize(text))) == 0.0
    assert evaluate(node, Env("a" * 5000, tokenize("a" * 5000))) == 1.0


def test_patterns_keep_python_unicode_classes_and_whole_words() -> None:
    assert Pattern(r"^\w+$").search("Crème") is not None
    assert Pattern(r"\d+").search("٣٤").text == "٣٤"
    assert Pattern(r"[\w-]+").search("à-la").text == "à-la"
    assert Pattern(r"a\Z").search("ba") is not None and Pattern(r"\u00e9").search("É") is not None
    word = Pattern("colou?r", whole_words=True)
    assert word.search("colourful") is None and word.search("My COLOUR!").text == "COLOUR"
    assert word.search("écolour") is None  # é is a word character
    assert Pattern("reset", whole_words=True).findall("reset reset,reset") == ["reset"] * 3
    assert Pattern(r"(\d+)-(\d+)").search("call 12-34").groups == ("12", "34")
    with pytest.raises(PatternError):
        Pattern("x" * 5000)


@pytest.mark.parametrize(
    ("pattern", "text", "found"),
    [
        ("password", "“password”", "password"),  # curly quotes and emoji are not word characters
        ("thanks", "thanks😀", "thanks"),
        ("password", "passwordé", None),  # é is a word character: no whole word here
        ("caf|café", "un café", "café"),  # the widened match (caf) is not a word; the exact one decides
        (r"pass\w*", "passé composé", "passé"),
        (r"\d+ euros", "٣٤ euros", "٣٤ euros"),
        ("résumé", "my RÉSUMÉ!", "RÉSUMÉ"),
    ],
)
def test_whole_words_are_python_words_in_any_script(pattern: str, text: str, found: str | None) -> None:
    match = Pattern(pattern, whole_words=True).search(text)
    assert (match.text if match else None) == found


def test_keyword_and_match_pattern_regex_on_re2() -> None:
    env = Env("I forgot my password, forgot it", tokenize("I forgot my password, forgot it"))
    assert evaluate(parse('keyword("forgot")'), env) == pytest.approx(2 / 6)
    env = Env("write to me at jo@example.com", tokenize("write to me at jo@example.com"))
    assert evaluate(parse(r'matchPatternRegex("[email](\\S+@\\S+)")'), env) == 1.0
    assert env.extracted == {"email": "jo@example.com"}


# -- knowledge bases -----------------------------------------------------------------------


@pytest.mark.parametrize("value", [2**70, 1e30, float("inf"), "99999999999999999999999", -(2**40)])
def test_qa_numbers_are_bounded(value: object) -> None:
    qa, faults = parse_qa({"question": "q", "answer": "a", "status": value})
    assert qa is None and [f.key for f in faults] == ["status"]


def test_kb_jsonl_lines_are_bounded_and_placed(tmp_path: Path) -> None:
    store = open_store(tmp_path / "kb.db")
    kb = KnowledgeBase(store, EmbeddedIndex(), "desk")
    f = tmp_path / "kb.jsonl"
    f.write_text(
        '{"question": "q", "answer": "'
        + "[" * 10
        + '"}\n'
        + "[" * 100_000
        + "]" * 100_000
        + "\n"
        + '{"question": "q2", "answer": "a", "status": 1180591620717411303424}\n',
        encoding="utf-8",
    )
    with pytest.raises(KnowledgeBaseError) as info:
        kb.import_jsonl(f)
    assert [str(p).replace(str(f), "kb.jsonl") for p in info.value.problems] == [
        "kb.jsonl:2: the line is nested more than 32 levels deep",
        "kb.jsonl:3: the number 1180591620717411303424 is too large (integers must lie between "
        "-9223372036854775807 and 9223372036854775807)",
    ]
    assert kb.import_jsonl(f, strict=False).added == 1
    store.close()


def test_kb_csv_files_are_read_bounded(tmp_path: Path) -> None:
    store = open_store(tmp_path / "kb.db")
    kb = KnowledgeBase(store, EmbeddedIndex(), "desk")
    fifo = tmp_path / "kb.csv"
    os.mkfifo(fifo)
    with pytest.raises(TaskError, match="is a named pipe"):
        kb.import_csv(fifo)
    big = tmp_path / "big.csv"
    big.write_text("question,answer\nq," + "x" * 200_000 + "\n", encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match=r"big.csv:2: unreadable CSV: field larger than field limit"):
        kb.import_csv(big)
    store.close()
