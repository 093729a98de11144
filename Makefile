# The two commands a newcomer needs: `make run` and `make test`.
# Without DATABASE_URL both use an embedded PostgreSQL in .pgdata/ (the pgserver wheel).

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

export DJANGO_DEBUG ?= true
export DJANGO_SETTINGS_MODULE ?= portfolio.settings

.PHONY: run test lint format setup locale migrate demo smoke clean-db bench

# German catalogue: the .po is committed, the .mo it compiles to is built here (pure Python).
LOCALE_PO := registry/locale/de/LC_MESSAGES/django.po
LOCALE_MO := $(LOCALE_PO:.po=.mo)

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-installs only when the project's dependencies change. Versions are pinned by
# constraints.txt (`make constraints` refreshes it from the virtualenv).
$(STAMP): pyproject.toml constraints.txt reliability/requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]' -r reliability/requirements.txt
	@touch $(STAMP)

# A git-ignored .env for local development, so that the commands README runs by hand
# (`.venv/bin/python manage.py …`) need nothing exported. Written only when there is none.
DOTENV ?= .env
$(DOTENV):
	@printf '%s\n' \
	  '# Local development settings (git-ignored), written by make because there was no .env.' \
	  '# The environment overrides them; .env.example lists every setting.' \
	  'DJANGO_DEBUG=true' \
	  '# The local webhook receiver (docs/OPERATIONS.md): plain http to this machine.' \
	  'WEBHOOK_ALLOW_HTTP=true' \
	  'WEBHOOK_ALLOWED_NETWORKS=127.0.0.1/32,::1/128' > $@
	@echo "Wrote $@ for local development (DJANGO_DEBUG=true, webhooks to this machine)."

setup: $(STAMP) | $(DOTENV)

$(LOCALE_MO): $(LOCALE_PO) | $(STAMP)
	$(BIN)/python manage.py compile_translations

locale: $(LOCALE_MO)

migrate: setup
	$(BIN)/python manage.py migrate --no-input

demo: migrate
	$(BIN)/python manage.py load_demo

# The webhook worker runs beside the web server and stops with it.
run: demo locale
	@echo "Admin: http://$(HOST):$(PORT)/admin/  API: http://$(HOST):$(PORT)/api/v1/  Docs: http://$(HOST):$(PORT)/api/docs/"
	$(BIN)/python manage.py run_worker & worker=$$!; \
	trap 'kill -TERM $$worker 2>/dev/null; wait $$worker' EXIT INT TERM; \
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

test: setup locale
	$(BIN)/pytest $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/python -m tools.check_translations

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The embedded-database path end to end: migrate, load the demo portfolio, one request.
smoke: demo locale
	$(BIN)/python manage.py smoke_check

# Load test against the machine's PostgreSQL (needs Debian's wrk); see docs/PERFORMANCE.md.
# Seeds bench_1k/bench_100k/bench_1m when missing. BENCH_ARGS="--only compare" for a part.
bench: setup
	$(BIN)/python -m bench.run $(BENCH_ARGS)

# --- reliability and security (docs/RELIABILITY.md) ---
# Everything that stops a database or kills a server does it to a PostgreSQL and a gunicorn
# it starts itself; results land in reliability/results/.
.PHONY: fuzz hostile reliability audit backup restore constraints

# Schemathesis, all phases, every role, against gunicorn on loopback. FUZZ_ARGS="--max-examples 20"
fuzz: setup
	$(BIN)/python -m reliability.fuzz $(FUZZ_ARGS)

# Hostile input beyond the schema: every query parameter and the sync body, two roles.
hostile: setup
	$(BIN)/python -m reliability.hostile $(HOSTILE_ARGS)

# The slow runs (1,000 read-modify-writes, database outage, SIGKILL mid-sync, concurrent
# syncs), then the full fuzz and the audit.
reliability: setup
	$(BIN)/pytest -p no:cacheprovider -m reliability --timeout 1800 tests/reliability/test_faults.py
	$(BIN)/python -m reliability.fuzz $(FUZZ_ARGS)
	$(BIN)/python -m reliability.hostile
	$(MAKE) audit

audit: setup
	$(BIN)/bandit -q -r registry portfolio reliability -c reliability/bandit.yaml -b reliability/bandit-baseline.json
	$(BIN)/pip-audit --local --progress-spinner off

# pg_dump (custom format) of DATABASE_URL or the embedded database: `make backup [BACKUP=file]`
backup: setup
	$(BIN)/python -m reliability.backup backup $(if $(BACKUP),--out $(BACKUP))

# Replaces every table: `make restore BACKUP=backups/registry-….dump CONFIRM=yes`
restore: setup
	$(BIN)/python -m reliability.backup restore $(BACKUP) $(if $(filter yes,$(CONFIRM)),--yes)

constraints:
	$(BIN)/python -m pip freeze --exclude-editable | grep -v -i '^ai-cx-portfolio' > constraints.txt

clean-db:
	rm -rf .pgdata
