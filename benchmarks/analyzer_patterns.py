"""How long an analyzer's pattern can hold a turn: ``regex("^(a+)+$")`` against ``a…a!``.

A backtracking engine (Python's ``re``, which analyzers used before RE2) doubles its
time with each letter; RE2 stays linear in the message. The table shows both for
messages of growing length, then the RE2 analyzer on a 100,000-character message.

    .venv/bin/python benchmarks/analyzer_patterns.py [--max 26]
"""

from __future__ import annotations

import argparse
import re
import time

from workbench.engines.decision_table.analyzer import Env, evaluate, parse, tokenize

PATTERNS = ["^(a+)+$", "(a|aa)+$", "^(a|a?)+$", r"(\w+\s?)+$"]


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max", type=int, default=26, help="longest message for Python's re (it doubles per letter)")
    args = parser.parse_args()
    for pattern in PATTERNS:
        rx = re.compile(pattern, re.I)
        node = parse(f'regex("{pattern}")'.replace("\\", "\\\\"))
        print(f"regex({pattern!r})")
        print(f"  {'letters':>8}{'Python re (ms)':>16}{'analyzer, RE2 (ms)':>20}")
        for n in range(16, args.max + 1, 2):
            text = "a" * n + "!"
            before = timed(lambda: rx.search(text)) * 1000  # noqa: B023 - called at once
            after = timed(lambda: evaluate(node, Env(text, tokenize(text)))) * 1000  # noqa: B023
            print(f"  {n:>8}{before:>16.1f}{after:>20.3f}")
        text = "a" * 100_000 + "!"
        after = timed(lambda: evaluate(node, Env(text, tokenize(text)))) * 1000  # noqa: B023
        print(f"  {100_000:>8}{'(not run)':>16}{after:>20.3f}")


if __name__ == "__main__":
    main()
