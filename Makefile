# choshu — make targets. Only Python 3.11, git and make are needed; `make setup` builds .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_URL ?= postgres://postgres@127.0.0.1:5432/choshu
PYTEST_ARGS ?=

.PHONY: setup demo test test-sqlite test-postgres lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "choshu needs Python 3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: setup
	$(BIN)/choshu demo

test: setup lint test-sqlite test-postgres

test-sqlite: setup
	$(BIN)/pytest -p no:cacheprovider $(PYTEST_ARGS)

test-postgres: setup
	@if scripts/ensure-postgres; then \
		CHOSHU_DATABASE_URL=$(PG_URL) $(BIN)/pytest -p no:cacheprovider $(PYTEST_ARGS); \
	elif [ -n "$$CI" ]; then \
		echo "PostgreSQL is required in CI but could not be reached" >&2; exit 1; \
	else \
		echo "WARNING: PostgreSQL not reachable on 127.0.0.1:5432 — the PostgreSQL run was SKIPPED" >&2; \
	fi

lint: setup
	$(BIN)/ruff check src tests bench conftest.py
	$(BIN)/ruff format --check src tests bench conftest.py
	$(BIN)/mypy src
	$(BIN)/lint-imports
	DJANGO_SETTINGS_MODULE=choshu.config.settings CHOSHU_VAR_DIR=$$(mktemp -d) $(BIN)/python -m django makemigrations --check --dry-run

bench: setup
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
