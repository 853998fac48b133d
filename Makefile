# Set-up and everyday commands. `make open` and `make test` work on a fresh
# machine with only python3 (>= 3.11) and make: they create .venv first.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TASK   ?= sample_tasks/overworld_demo

.PHONY: setup open lint test bench clean postgres

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

setup: $(STAMP)

open: $(STAMP)
	$(BIN)/workbench open $(TASK)

# the store and failover tests need PostgreSQL's server binaries (Debian's postgresql package);
# the suite starts and removes its own cluster. Without them those tests are skipped, saying why.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || \
	  { [ "$$(id -u)" = 0 ] && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; } || \
	  echo "PostgreSQL is not installed (apt-get install postgresql): its tests will be skipped"

# what CI checks before the suite: lint and format, the layers (import-linter), the types (mypy)
lint: $(STAMP)
	$(BIN)/ruff check workbench tests benchmarks
	$(BIN)/ruff format --check workbench tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/mypy

test: lint postgres
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/startup.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
