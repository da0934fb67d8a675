# carepath: `make run` and `make test` do all the set-up on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
WORKSPACE ?= examples/eye-clinic
# The console's browser assets: pinned in package-lock.json, copied where carepath serves them.
NODE_STAMP := node_modules/.installed-stamp
VENDOR := api/console/static/vendor
ASSETS := $(VENDOR)/htmx.min.js $(VENDOR)/echarts.min.js $(VENDOR)/axe.min.js

.PHONY: install assets run simulate test histories lint fmt schema clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $(NODE_STAMP)

$(VENDOR)/htmx.min.js: $(NODE_STAMP)
	@mkdir -p $(VENDOR)
	cp node_modules/htmx.org/dist/htmx.min.js $@

$(VENDOR)/echarts.min.js: $(NODE_STAMP)
	@mkdir -p $(VENDOR)
	cp node_modules/echarts/dist/echarts.min.js $@

$(VENDOR)/axe.min.js: $(NODE_STAMP)
	@mkdir -p $(VENDOR)
	cp node_modules/axe-core/axe.min.js $@

assets: $(ASSETS) ## the console's htmx, ECharts and axe-core from npm (npm ci), into $(VENDOR)

install: $(STAMP) $(ASSETS) ## create .venv and install carepath with its tools, Temporal binaries and console assets

run: $(STAMP) $(ASSETS) ## carepath up: Temporal dev server, worker and API with the example workspace
	$(VENV)/bin/carepath up $(WORKSPACE)

simulate: $(STAMP) ## every example scenario through `carepath simulate`
	@set -e; for s in $(WORKSPACE)/scenarios/*.yaml; do \
	  echo "== $$s"; $(VENV)/bin/carepath simulate "$$s"; echo; done

test: $(STAMP) $(ASSETS) ## the whole suite; with CAREPATH_TEST_POSTGRES_URL set, the database tests again on PostgreSQL, beside it
	@if [ -z "$$CAREPATH_TEST_POSTGRES_URL" ]; then exec $(PY) -m pytest -q; fi; \
	leg=$$(mktemp -d); \
	echo "== PostgreSQL leg beside the suite: $$CAREPATH_TEST_POSTGRES_URL (its report follows the suite's)"; \
	( CAREPATH_TEST_DATABASE_URL="$$CAREPATH_TEST_POSTGRES_URL" $(PY) -m pytest -q -m db \
	    -p no:cacheprovider --basetemp="$$leg/tmp" > "$$leg/log" 2>&1; echo $$? > "$$leg/rc" ) & \
	$(PY) -m pytest -q; suite=$$?; \
	wait; \
	echo "== PostgreSQL leg: $$CAREPATH_TEST_POSTGRES_URL"; cat "$$leg/log"; \
	postgres=$$(cat "$$leg/rc"); rm -rf "$$leg"; \
	[ $$suite -eq 0 ] && [ $$postgres -eq 0 ]

histories: $(STAMP) ## re-record the example scenarios' workflow histories for the replay test
	$(PY) -m tests.workflows.record_histories

lint: $(STAMP) ## ruff (format + check), mypy strict, and the layers (import-linter)
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache

fmt: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

schema: $(STAMP) ## write JSON Schema files for YAML editors into schema/
	$(VENV)/bin/carepath schema --out schema

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache node_modules $(VENDOR)
