# Set-up and everyday commands. `make open` and `make test` work on a fresh
# machine with only python3 (>= 3.11) and make: they create .venv first.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TASK   ?= sample_tasks/overworld_demo

.PHONY: setup open test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
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
