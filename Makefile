# Two commands for a fresh machine with Python 3.11+: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export DEBUG ?= 1

.PHONY: run test lint format install migrate demo clean bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt -c constraints.txt
	touch $@

install: $(VENV)/.installed

migrate: install
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py load_demo

# Serve the site and the background worker together; Ctrl-C stops both.
run: demo
	@echo "Serving http://127.0.0.1:8000 (Ctrl-C stops the site and the worker)"
	@bash -c '$(BIN)/python manage.py qcluster & worker=$$!; \
	  trap "kill -TERM $$worker 2>/dev/null; wait $$worker" EXIT; \
	  $(BIN)/python manage.py runserver 127.0.0.1:8000'

test: install
	$(BIN)/python -m pytest -n auto $(PYTEST_ARGS)

# The figures of issue 8 (bench/README.md): needs PostgreSQL on 127.0.0.1:5432; not part of
# `make test`. About three minutes (the first run also stores a million sessions).
bench: install
	$(BIN)/python bench/run_all.py

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) db.sqlite3 .test-db.sqlite3 staticfiles
