# SkyPanel: `make run` starts the panel, `make test` runs every test. Both work on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
FAKE_PORT ?= 8765
# What makemessages must not scan: the venv, run-time files and the test/bench/tooling code.
MAKEMESSAGES_IGNORE := --ignore=.venv --ignore=var --ignore=tests --ignore=bench --ignore=scripts \
	--ignore=staticfiles

.PHONY: run test venv messages migrate admin lint format fake-hubspot worker clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

## messages: compile the translations (locale/*/LC_MESSAGES/django.po -> .mo; needs gettext's msgfmt)
messages: venv
	@command -v msgfmt >/dev/null || (command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
		(apt-get update -qq && apt-get install -y -qq gettext >/dev/null)) || \
		echo "note: gettext's msgfmt is missing; the panel will speak English only"
	@if command -v msgfmt >/dev/null; then \
		$(PY) manage.py compilemessages --ignore=.venv --ignore=var; fi

## messages-update: collect the marked strings of the code and templates into locale/*/django.po
.PHONY: messages-update
messages-update: venv
	$(PY) manage.py makemessages --all --no-obsolete $(MAKEMESSAGES_IGNORE)

migrate: messages
	$(PY) manage.py migrate --no-input

## run: install, migrate, then serve the panel on http://127.0.0.1:$(PORT)/ with a task worker
run: migrate
	@echo ""
	@echo "SkyPanel: http://127.0.0.1:$(PORT)/admin/  (first admin: make admin)"
	@echo "Task worker and sweep (hubspot_sweep): running beside the server; Ctrl-C stops all three."
	@echo ""
	@$(PY) scripts/dev.py --port $(PORT)

## test: the whole suite (SQLite by default; DATABASE_URL=postgres://... for PostgreSQL)
test: messages
	@test -x /usr/bin/chromium || (command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
		(apt-get update -qq && apt-get install -y -qq chromium >/dev/null)) || \
		echo "note: /usr/bin/chromium is missing; browser tests will be skipped"
	$(PY) -m pytest -n 2 --dist loadfile -q

admin: migrate
	$(PY) manage.py createsuperuser

worker: venv
	$(PY) manage.py db_worker

## fake-hubspot: the test suite's fake HubSpot with demo data (FAKE_PORT=8765; a restart resets it)
fake-hubspot: venv
	$(PY) -m tests.fake_hubspot --port $(FAKE_PORT) --seed

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) var db.sqlite3 staticfiles
	find locale -name '*.mo' -delete

## smoke: the production profile end to end (gunicorn, RQ workers, PostgreSQL, Redis; see README)
.PHONY: smoke
smoke: venv
	$(PY) scripts/production_smoke.py
