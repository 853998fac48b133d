# Set-up and everyday commands. `make open` and `make test` work on a fresh
# machine with only python3 (>= 3.11) and make: they create .venv first.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TASK   ?= sample_tasks/overworld_demo
# torch's CPU wheels (model bots, docs/model-bots.md): a few hundred MB instead of the CUDA build
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu

.PHONY: setup open test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --extra-index-url $(TORCH_INDEX) -e ".[test]"
	touch $(STAMP)

setup: $(STAMP)

open: $(STAMP)
	$(BIN)/workbench open $(TASK)

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/startup.py

clean:
	rm -rf $(VENV) .pytest_cache
