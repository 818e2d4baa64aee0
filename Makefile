# choshu — make targets. Only Python 3.11, git and make are needed; `make setup` builds .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_URL ?= postgres://postgres@127.0.0.1:5432/choshu
PYTEST_ARGS ?=
# pytest-xdist workers per pass (0: no workers, the tests run in pytest's own process). Whole files
# go to one worker (--dist loadfile): a module's fixtures and databases are made once.
TEST_WORKERS ?= 2
PYTEST := $(BIN)/pytest -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile
TEST_LOGS := var/test-logs

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

# The SQLite and PostgreSQL passes run at the same time (the PostgreSQL pass waits on its server
# much of the time); each writes its own log, printed whole at the end; either failing fails `make test`.
test: setup lint
	@mkdir -p $(TEST_LOGS)
	@$(BIN)/python -c 'import choshu.config.settings'  # the key file under var/, made once before both passes
	@echo "Running the SQLite and PostgreSQL passes at the same time (logs: $(TEST_LOGS)/) ..."
	@start=$$(date +%s); \
	( $(MAKE) --no-print-directory test-sqlite > $(TEST_LOGS)/sqlite.log 2>&1; echo $$? > $(TEST_LOGS)/sqlite.rc; \
	  echo "SQLite pass done after $$(( $$(date +%s) - start )) s" ) & \
	( $(MAKE) --no-print-directory test-postgres > $(TEST_LOGS)/postgres.log 2>&1; echo $$? > $(TEST_LOGS)/postgres.rc; \
	  echo "PostgreSQL pass done after $$(( $$(date +%s) - start )) s" ) & \
	wait; \
	rs=$$(cat $(TEST_LOGS)/sqlite.rc); rp=$$(cat $(TEST_LOGS)/postgres.rc); \
	echo "make test: SQLite pass exit $$rs, PostgreSQL pass exit $$rp, $$(( $$(date +%s) - start )) s"; \
	echo "===================== SQLite pass (exit $$rs) ====================="; cat $(TEST_LOGS)/sqlite.log; \
	echo "=================== PostgreSQL pass (exit $$rp) ==================="; cat $(TEST_LOGS)/postgres.log; \
	[ "$$rs" = 0 ] && [ "$$rp" = 0 ]

test-sqlite: setup
	$(PYTEST) $(PYTEST_ARGS)

test-postgres: setup
	@if scripts/ensure-postgres; then \
		CHOSHU_DATABASE_URL=$(PG_URL) $(PYTEST) $(PYTEST_ARGS); \
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
