# The two commands a newcomer needs: `make run` and `make test`. See README.md.
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: install run worker test lint format bench backup clean lock lock-check messages \
	messages-check

# --- install: from the lock, never from pyproject's ranges -----------------------------------
# Every dependency (runtime and the `test` extra) comes from requirements/test.txt: exact
# versions, every file checked against its sha256. A changed lock reinstalls.
TEST_LOCK := requirements/test.txt
# This repository's own packages: editable, without dependencies (theirs are in the lock):
# the console, and the worker client (clients/python: the `pls` command). A new one goes here
# and in pyproject.toml's [tool.uv.workspace] members; `make lock` adds its dependencies.
LOCAL_PACKAGES := . clients/python

$(VENV)/.installed: $(TEST_LOCK) pyproject.toml clients/python/pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet --require-hashes -r $(TEST_LOCK)
	$(VENV)/bin/pip install --quiet --no-deps $(addprefix -e ,$(LOCAL_PACKAGES))
	@UV=$(VENV)/bin/uv requirements/lock --check >/dev/null 2>&1 \
		|| echo "warning: the locks do not match pyproject.toml; run 'make lock'" >&2
	touch $@

install: $(VENV)/.installed

# Refreshes uv.lock and requirements/*.txt from pyproject's ranges, keeping every pin that still
# fits; `make lock UPGRADE=1` moves every pin to the newest allowed. lock-check (CI) only checks.
lock: install
	UV=$(VENV)/bin/uv requirements/lock $(if $(UPGRADE),--upgrade)

lock-check: install
	@UV=$(VENV)/bin/uv requirements/lock --check
# ---------------------------------------------------------------------------------------------

# The console plus real background processing on the embedded default (SQLite and a
# filesystem Celery broker under .var/), or on PostgreSQL and Redis when DATABASE_URL and
# REDIS_URL are set. Ctrl-C stops everything.
# Metrics: gunicorn's two workers share their samples through a multi-process folder that
# gunicorn empties at every start (config/gunicorn.conf.py); Celery counts its share in the
# database (core.metrics), so it is started without the folder. No counter goes backwards.
METRICS_DIR := $(CURDIR)/.var/prometheus
run: install
	$(PY) manage.py migrate --noinput -v 0
	$(PY) manage.py collectstatic --noinput -v 0
	$(PY) manage.py seed_demo --url http://127.0.0.1:$(PORT)/
	@echo "Starting the console on http://127.0.0.1:$(PORT)/admin/ with a Celery worker and beat."
	@env -u PROMETHEUS_MULTIPROC_DIR $(VENV)/bin/celery -A config worker --beat --pool solo \
		-Q celery,artifacts --loglevel INFO & \
	CELERY_PID=$$!; trap 'kill $$CELERY_PID 2>/dev/null; wait $$CELERY_PID' EXIT INT TERM; \
	PROMETHEUS_MULTIPROC_DIR=$(METRICS_DIR) PORT=$(PORT) GUNICORN_HOST=127.0.0.1 $(VENV)/bin/gunicorn -c config/gunicorn.conf.py config.wsgi:application

# The whole suite. Without DATABASE_URL it runs on SQLite and skips, with the reason, the
# tests that need PostgreSQL or Redis; with DATABASE_URL and REDIS_URL it runs them all.
test: install
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# ruff, then the house plan's import contracts and the type check ([tool.importlinter] and
# [tool.mypy] in pyproject.toml; README, "Architecture").
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/mypy

# The zh_Hant catalogue (README, "Languages"): `make messages` collects new strings and
# compiles; `make messages-check` (CI) fails on a new, obsolete, fuzzy or untranslated entry.
messages: install
	PY=$(PY) locale/messages

messages-check: install
	PY=$(PY) locale/messages --check

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Every benchmark against PostgreSQL and Redis (each on its own bench database and its own
# redis-server), then one table of figures and targets, also in bench/results/latest.md.
# About 10 minutes; BENCH_ARGS="--only ingest,claims" or "--quick" for less.
bench: install
	$(PY) bench/suite.py $(BENCH_ARGS)

# A pg_dump custom-format dump and its sha256 file in PLS_BACKUP_DIR (README: Backups).
backup: install
	$(PY) manage.py backup

clean:
	rm -rf .var .pytest_cache
