# Two commands for a fresh machine: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTHON := $(BIN)/python
HOST ?= 127.0.0.1
PORT ?= 8000
# The suite runs on every core (pytest-xdist); PYTEST_ARGS= runs it in one process.
PYTEST_ARGS ?= -n auto

.PHONY: run setup test lint system-deps bench clean compose-test

$(VENV)/.installed: requirements.txt $(wildcard requirements/*.txt)
	test -x $(PYTHON) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install -r requirements-dev.txt
	touch $@

# Everything `run` needs before serving; each step skips work already done.
setup: $(VENV)/.installed
	$(PYTHON) manage.py migrate --noinput
	$(PYTHON) manage.py import_catalog --styles data/styles.csv --images data/images data/images_small
	$(PYTHON) manage.py create_demo_accounts
	$(PYTHON) manage.py simulate_shoppers --if-empty
	$(PYTHON) manage.py train_models --if-missing

run: setup
	$(PYTHON) manage.py runserver $(HOST):$(PORT)

# Chromium for the Playwright journeys (Playwright cannot download its own browser
# here), nginx to check the shipped nginx configuration, and wrk for bench/load.py.
system-deps:
	@test -x /usr/bin/chromium -a -x /usr/sbin/nginx -a -x /usr/bin/wrk || { apt-get update -qq && apt-get install -y -qq chromium nginx-light wrk; }

# pytest exits 5 when it collects nothing: that is a failure, not a pass.
# Unused imports and undefined names are bugs, not style: they fail the build.
lint: $(VENV)/.installed-dev
	$(BIN)/ruff check --select F,E9 .

test: $(VENV)/.installed-dev system-deps lint
	$(PYTHON) manage.py collectstatic --noinput -v0
	$(BIN)/pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

bench: $(VENV)/.installed-dev
	for script in bench/*.py; do $(PYTHON) $$script || exit 1; done

# The production path in Docker, end to end (as root; starts dockerd and builds
# stand-in base images where no registry is reachable): docs/deploy.md.
compose-test:
	deploy/compose-test.sh

clean:
	rm -rf staticfiles .pytest_cache
