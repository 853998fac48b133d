"""NLU training data: intent examples and entity rules, read from YAML (docs/forms.md).

Two spellings are accepted. Workbench's own::

    intents:
      request_restaurant: [I'm looking for a restaurant, book a table for [4](people)]
    entities:
      cuisine: {lookup: [italian, mexican], synonyms: {mexican: [mex, tex-mex]}}
      people: {number: true}

and Rasa 3's ``nlu:`` list (``- intent: x`` / ``- lookup:`` / ``- synonym:`` /
``- regex:`` with an ``examples: |`` block). Annotated examples (``[text](entity)``,
``[text](entity:value)``, ``[text]{"entity": ..., "value": ..., "role": ...}``)
are indexed as plain text; their values feed the entity's lookup table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from workbench.engines.nlu.entities import EntityRule
from workbench.io.files import DATA_LIMIT, read_text
from workbench.io.untrusted import JsonLimits, UntrustedInput, parse_json
from workbench.io.yaml_lines import Lines, line_of, load_yaml
from workbench.problems import Problem, TaskError, validate_model

#: an example's ``[text]{"entity": ...}`` annotation
ANNOTATION_JSON = JsonLimits(max_bytes=4096, max_depth=4)

_ANNOTATION_RE = re.compile(r"\[(?P<text>[^\]]+)\](?:\((?P<short>[^)]+)\)|(?P<json>\{[^}]*\}))")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EntitySpec(_Strict):
    #: regular expressions; a named group ``value`` picks the value out of the match
    regex: str | list[str] = Field(default_factory=list)
    #: values written as they are matched (case-insensitive), or a file of one value per line
    lookup: list[str | int | float] | str = Field(default_factory=list)
    #: canonical value -> the other ways people write it
    synonyms: dict[str, list[str | int | float] | str] = Field(default_factory=dict)
    #: numbers in digits or words ("6", "six")
    number: bool = False
    #: simple dates ("tomorrow", "next friday", "5 May"), as ISO strings
    date: bool = False
    #: role -> cue words that give the entity that role when they come just before it
    roles: dict[str, list[str] | str] = Field(default_factory=dict)
    #: give each entity the number of the clause it is in as its ``group``
    groups: bool = False


class NLUFile(_Strict):
    version: str | int | float | None = None
    #: intent -> example utterances
    intents: dict[str, list[str | int | float] | None] = Field(default_factory=dict)
    entities: dict[str, EntitySpec | None] = Field(default_factory=dict)
    #: Rasa 3's list of intent / lookup / synonym / regex blocks
    nlu: list[dict[str, Any]] = Field(default_factory=list)


@dataclass
class Example:
    text: str
    intent: str


@dataclass
class NLUData:
    """What an NLU file holds once read: examples, intent names, entity rules."""

    examples: list[Example] = field(default_factory=list)
    intents: list[str] = field(default_factory=list)
    entities: list[EntityRule] = field(default_factory=list)
    source: str | None = None

    def entity(self, name: str) -> EntityRule:
        for e in self.entities:
            if e.name == name:
                return e
        rule = EntityRule(name)
        self.entities.append(rule)
        return rule

    def add_example(self, intent: str, raw: str) -> None:
        """Add one example, turning its entity annotations into lookup values."""
        text, found = strip_annotations(raw)
        if intent not in self.intents:
            self.intents.append(intent)
        if text:
            self.examples.append(Example(text, intent))
        for ann in found:
            rule = self.entity(ann["entity"])
            surface = ann["text"]
            value = ann.get("value")
            if value is not None and str(value).lower() != surface.lower():
                forms = rule.synonyms.setdefault(str(value), [])
                if surface not in forms:
                    forms.append(surface)
            elif not (rule.number or rule.date or rule.regex) and surface not in rule.lookup:
                # entities found by a regex, numbers or dates keep their own extractor
                rule.lookup.append(surface)
            if ann.get("role"):
                rule.roles.setdefault(str(ann["role"]), [])


def strip_annotations(raw: str) -> tuple[str, list[dict[str, Any]]]:
    """``"a table for [4](people)"`` -> ``("a table for 4", [{"entity": "people", ...}])``."""
    found: list[dict[str, Any]] = []
    out: list[str] = []
    pos = 0
    for m in _ANNOTATION_RE.finditer(raw):
        out.append(raw[pos : m.start()])
        start = sum(len(p) for p in out)
        text = m.group("text")
        out.append(text)
        pos = m.end()
        if m.group("short"):
            name, _, value = m.group("short").partition(":")
            ann: dict[str, Any] = {"entity": name.strip(), "text": text}
            if value:
                ann["value"] = value.strip()
        else:
            try:
                parsed = parse_json(m.group("json"), ANNOTATION_JSON, what="annotation")
            except UntrustedInput:
                parsed = None
            if not isinstance(parsed, dict):
                out[-1] = m.group()
                continue
            ann = parsed
            ann["text"] = text
            if "entity" not in ann:
                continue
        ann["start"], ann["end"] = start, start + len(text)
        found.append(ann)
    out.append(raw[pos:])
    return "".join(out).strip(), found


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [str(value)]


def _examples_block(block: Any) -> list[str]:
    """Rasa's ``examples: |`` block (lines starting with ``- ``) or a plain list."""
    if isinstance(block, list):
        return [str(x) for x in block]
    out = []
    for line in str(block or "").splitlines():
        line = line.strip()
        if line.startswith("- "):
            out.append(line[2:].strip())
        elif line:
            out.append(line)
    return out


def nlu_from_dict(raw: Any, file: Path, lines: Lines, root: Path | None = None) -> NLUData:
    """Validate a parsed NLU file; problems name file:line and the key."""
    if raw is None:
        return NLUData(source=str(file))
    problems: list[Problem] = []
    spec = validate_model(NLUFile, raw, (), file, lines, problems)
    if spec is None:
        raise TaskError(problems)
    data = NLUData(source=str(file))
    for name, spec_e in spec.entities.items():
        _entity(data, name, spec_e or EntitySpec(), file, lines, root or file.parent, problems)
    for intent, examples in spec.intents.items():
        if intent not in data.intents:
            data.intents.append(intent)
        for ex in examples or []:
            data.add_example(intent, str(ex))
    _rasa_blocks(data, spec.nlu, file, lines, problems)
    if problems:
        raise TaskError(problems)
    return data


def _entity(
    data: NLUData, name: str, spec: EntitySpec, file: Path, lines: Lines, root: Path, problems: list[Problem]
) -> None:
    """The rule of entity ``name`` (workbench's ``entities:`` spelling)."""

    def bad(key: str, message: str) -> None:
        problems.append(Problem(str(file), line_of(lines, ("entities", name, key)), f"entities.{name}.{key}", message))

    rule = data.entity(name)
    rule.regex = _as_list(spec.regex)
    for pattern in rule.regex:
        try:
            re.compile(pattern)
        except re.error as exc:
            bad("regex", f"invalid regular expression {pattern!r}: {exc}")
    if isinstance(spec.lookup, str):
        path = Path(spec.lookup) if Path(spec.lookup).is_absolute() else root / spec.lookup
        try:
            text = read_text(path, DATA_LIMIT, "lookup file")
        except TaskError as exc:
            for p in exc.problems:
                bad("lookup", f"cannot use the lookup file: {p}")
        else:
            rule.lookup = [ln.strip() for ln in text.splitlines() if ln.strip()]
    else:
        rule.lookup = [str(v) for v in spec.lookup]
    rule.synonyms = {str(k): _as_list(v) for k, v in spec.synonyms.items()}
    rule.number, rule.date, rule.groups = spec.number, spec.date, spec.groups
    rule.roles = {str(k): _as_list(v) for k, v in spec.roles.items()}


def _rasa_blocks(
    data: NLUData, blocks: list[dict[str, Any]], file: Path, lines: Lines, problems: list[Problem]
) -> None:
    """Rasa 3's ``nlu:`` list: intent, lookup, regex and synonym blocks with ``examples:``."""
    pending: list[tuple[str, list[str]]] = []
    for i, block in enumerate(blocks):
        kinds = [k for k in ("intent", "lookup", "synonym", "regex") if k in block]
        if len(kinds) != 1:
            problems.append(
                Problem(
                    str(file),
                    line_of(lines, ("nlu", i)),
                    f"nlu.{i}",
                    "expected one of `intent:`, `lookup:`, `synonym:` or `regex:` with `examples:`",
                )
            )
            continue
        kind, name = kinds[0], str(block[kinds[0]])
        examples = _examples_block(block.get("examples"))
        if kind == "intent":
            if name not in data.intents:
                data.intents.append(name)
            for ex in examples:
                data.add_example(name, ex)
        elif kind == "lookup":
            data.entity(name).lookup.extend(examples)
        elif kind == "regex":
            data.entity(name).regex.extend(examples)
        else:
            pending.append((name, examples))
    # Rasa's synonyms are global: they attach to every entity whose table holds the value
    for canonical, forms in pending:
        for rule in data.entities:
            if canonical in rule.lookup or canonical in rule.synonyms:
                bucket = rule.synonyms.setdefault(canonical, [])
                bucket.extend(f for f in forms if f not in bucket)


def load_nlu(path: str | Path) -> NLUData:
    """Read an NLU file (see the module docstring); raise TaskError naming file:line:key."""
    path = Path(path)
    raw, lines = load_yaml(path, what="NLU file")
    return nlu_from_dict(raw, path, lines)
