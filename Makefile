# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app capa
HOST ?= 127.0.0.1
PORT ?= 5000
# The PostgreSQL pass of `make test` uses this server; it is skipped (loudly) when none answers, except in CI.
TEST_POSTGRES_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
# Both cores: each test runs on a fresh database of its own, so tests run in parallel safely.
PYTEST_ARGS ?= -n auto

.PHONY: install install-app run test test-sqlite test-postgres lint bench load clean translations-extract translations-update translations-compile

$(PY):
	$(PYTHON) -m venv $(VENV)

# The app alone (what `make run` needs), then the test tools on top (`make install`, `make test`).
$(VENV)/.installed-app: $(PY) pyproject.toml
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed: $(VENV)/.installed-app pyproject.toml
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# The compiled catalogs (.mo) are built here from the committed .po files, never committed themselves.
CATALOGS := $(wildcard capa/translations/*/LC_MESSAGES/messages.po)
install: $(VENV)/.installed $(CATALOGS:.po=.mo)
install-app: $(VENV)/.installed-app $(CATALOGS:.po=.mo)

capa/translations/%/LC_MESSAGES/messages.mo: capa/translations/%/LC_MESSAGES/messages.po $(VENV)/.installed-app
	$(VENV)/bin/pybabel compile --statistics -d capa/translations -l $*

# Translations: extract the strings of code and templates, merge them into each language's catalog, compile.
translations-extract: $(VENV)/.installed
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output \
		--project="CAPA tracker" --copyright-holder="CAPA tracker" -o capa/translations/messages.pot .

translations-update: translations-extract
	$(VENV)/bin/pybabel update -i capa/translations/messages.pot -d capa/translations --no-fuzzy-matching

translations-compile: $(VENV)/.installed
	$(VENV)/bin/pybabel compile --statistics -d capa/translations

# The web app and, unless CAPA_SCHEDULER=off, the scheduler beside it (stopped together).
run: install-app
	$(FLASK) init-db
	@if [ "$${CAPA_SCHEDULER:-on}" != "off" ]; then \
		$(FLASK) scheduler & scheduler=$$!; \
		trap 'kill $$scheduler 2>/dev/null' EXIT INT TERM; \
		$(FLASK) run --host $(HOST) --port $(PORT); \
	else \
		$(FLASK) run --host $(HOST) --port $(PORT); \
	fi

test: install lint test-sqlite test-postgres

test-sqlite: install
	$(PY) -m pytest $(PYTEST_ARGS)

test-postgres: install
	@if $(PY) tests/postgres_ready.py "$(TEST_POSTGRES_URL)"; then \
		CAPA_TEST_DATABASE_URL="$(TEST_POSTGRES_URL)" $(PY) -m pytest $(PYTEST_ARGS); \
	elif [ -n "$$CI" ]; then \
		echo "PostgreSQL at $(TEST_POSTGRES_URL) is not reachable; CI requires the PostgreSQL pass." >&2; exit 1; \
	else \
		echo "*** PostgreSQL pass SKIPPED: no server at $(TEST_POSTGRES_URL). Only SQLite was tested. ***"; \
	fi

# The app at 1,000,000 NCs (demo-data, requests, export) and one week's summary, each against its floor (bench/),
# then the load test.
bench: install
	$(PY) bench/scale_bench.py
	$(PY) bench/summary_bench.py
	$(MAKE) load

# Many people at once against gunicorn on PostgreSQL (1,000,000 NCs) and SQLite (WAL), then a check that nothing
# was lost (bench/load_test.py); installs locust (the `load` extra) first.
load: $(VENV)/.load-installed
	$(PY) bench/load_test.py

$(VENV)/.load-installed: $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[dev,load]'
	touch $@

lint: install
	$(VENV)/bin/ruff check capa tests migrations bench
	$(VENV)/bin/ruff format --check capa tests migrations bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
