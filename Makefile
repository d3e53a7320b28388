# crm-portal — `make run` to try it, `make test` for the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

DATABASE_URL_TEST ?= postgres://postgres@127.0.0.1:5432/postgres
REDIS_URL_TEST ?= redis://127.0.0.1:6379/0

.PHONY: run test install lint fmt bench migrations-check messages browser-deps clean

$(PY):
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is needed ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	@# setuptools' notice about flat layouts in editable mode is known and harmless here.
	PYTHONWARNINGS="ignore:Editable installation" $(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# First run on the embedded defaults: SQLite file, filesystem broker, mail on the console.
# `make run PORT=8001` (or RUN_ADDR=0.0.0.0:8001) serves elsewhere; links in mail follow.
PORT ?= 8000
RUN_ADDR ?= 127.0.0.1:$(PORT)
run: install
	DEBUG=true $(PY) manage.py migrate --noinput
	DEBUG=true $(PY) manage.py seed_demo
	DEBUG=true RUN_ADDR=$(RUN_ADDR) $(PY) manage.py run_all

# Debian's Chromium for the browser tests, fonts-noto-cjk so Japanese pages render (and
# screenshot) with real glyphs, docker-compose to validate the compose file, and Dovecot
# (dovecot-imapd) as the real IMAP server of the mail add-on's tests (MAIL-5; the tests start
# their own, unprivileged, so the package's system service is not needed).
browser-deps:
	@command -v chromium >/dev/null 2>&1 && command -v docker-compose >/dev/null 2>&1 \
	  && [ -x /usr/sbin/dovecot ] && [ -x /usr/lib/dovecot/imap ] \
	  && fc-list 2>/dev/null | grep -q "Noto Sans CJK" || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && \
	  $$SUDO apt-get install -y -qq chromium docker-compose fonts-noto-cjk dovecot-imapd >/dev/null; }

# PostgreSQL and Redis not answering? scripts/with_test_services.py brings private ones and stops them.
test: install browser-deps
	DATABASE_URL=$${DATABASE_URL:-$(DATABASE_URL_TEST)} REDIS_URL=$${REDIS_URL:-$(REDIS_URL_TEST)} \
	  $(PY) scripts/with_test_services.py $(PY) -m pytest $(PYTEST_ARGS)

# ruff, then the import contracts in pyproject.toml (DESIGN: Layers; custom ones in lint/).
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

fmt: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

migrations-check: install
	DEBUG=true $(PY) manage.py makemigrations --check --dry-run

# Re-extract and compile translations (needs GNU gettext); the compiled .mo files are committed.
messages: install
	DEBUG=true $(PY) manage.py makemessages -l ja --ignore=.venv --ignore=var
	DEBUG=true $(PY) manage.py compilemessages --ignore=.venv

bench: install
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	@for f in benchmarks/[!_]*.py; do [ -e "$$f" ] || continue; echo "== $$f"; $(PY) "$$f"; done

clean:
	rm -rf var/broker var/cache var/celerybeat-schedule*
