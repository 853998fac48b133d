"""Engine registry: each engine lives in its own module, imported only when a task uses it.

An engine module exposes ``Config`` (a pydantic model of the bot's keys in
task.yml, ``extra="forbid"``) and ``create(config, task, name) -> Engine``.
"""

from __future__ import annotations

import importlib
from types import ModuleType

ENGINES: dict[str, str] = {
    "echo": "workbench.engines.echo",
    "python": "workbench.engines.python_bot",
    "decision_table": "workbench.engines.decision_table",
    "form": "workbench.engines.form",
    "chain": "workbench.engines.chain",
    # model bots (docs/model-bots.md): torch and transformers load only when a model does
    "openai": "workbench.engines.models.openai_compatible",
    "transformers": "workbench.engines.models.transformers_model",
}


def engine_module(name: str) -> ModuleType:
    if name not in ENGINES:
        raise KeyError(name)
    return importlib.import_module(ENGINES[name])


def create_engine(bot_name: str, config, task):
    """Build the engine for bot ``bot_name`` from its validated ``config``."""
    return engine_module(config.engine).create(config, task, bot_name)
