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

.PHONY: run test lint format setup locale migrate demo smoke clean-db

# German catalogue: the .po is committed, the .mo it compiles to is built here (pure Python).
LOCALE_PO := registry/locale/de/LC_MESSAGES/django.po
LOCALE_MO := $(LOCALE_PO:.po=.mo)

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-installs only when the project's dependencies change.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)

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
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/python manage.py check_translations

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The embedded-database path end to end: migrate, load the demo portfolio, one request.
smoke: demo locale
	$(BIN)/python manage.py smoke_check

clean-db:
	rm -rf .pgdata
