# Commands a newcomer needs. Only Python 3.11 is required for `make run` and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

.PHONY: run test lint format check-deploy clean-instance servers client

$(VENV)/.installed-run: requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed-run
	$(PIP) install -q -r requirements-dev.txt
	@touch $@

# The MySQL driver only when the tests are pointed at MariaDB/MySQL.
$(VENV)/.installed-mysql: requirements-mysql.txt
	$(PIP) install -q -r requirements-mysql.txt
	@touch $@

run: $(VENV)/.installed-run
	$(PY) -m mailer.devserver

test: $(VENV)/.installed-dev $(if $(findstring mysql,$(MAILER_TEST_DATABASE_URL)),$(VENV)/.installed-mysql)
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

# deploy/: systemd units and nginx site (needs the Debian packages systemd, nginx, openssl).
check-deploy: $(VENV)/.installed-run
	scripts/check-deploy.sh

format: $(VENV)/.installed-dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# clients/python: the typed Python client, generated again from the OpenAPI document.
client: $(VENV)/.installed-dev
	VENV=$(VENV) scripts/generate-client.sh

# MariaDB + Redis on loopback for the suite (needs mariadb-server and redis-server installed).
servers:
	@scripts/test-servers.sh start /tmp/mailer-test-servers
