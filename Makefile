# DockBack: `make up` runs it on this machine, `make test` runs the tests.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
MEMBERS := libs/contracts services/gateway services/scheduler services/executor services/uploader services/notifier
INSTALLED := $(VENV)/.installed

.PHONY: install up test lint format contracts-docs clean

# Reinstall only when a pin or a member's metadata changed; the members are editable.
$(INSTALLED): constraints.txt requirements-dev.txt $(addsuffix /pyproject.toml,$(MEMBERS))
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "DockBack needs Python 3.11+ (PYTHON=$(PYTHON))")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -c constraints.txt -r requirements-dev.txt $(addprefix -e ,$(MEMBERS))
	@touch $@

install: $(INSTALLED)

up: install
	deploy/dev/ensure-docker
	$(PY) deploy/dev/stack.py

test: install
	deploy/dev/ensure-docker
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

contracts-docs: install
	$(PY) tools/contracts_docs.py docs

clean:
	rm -rf $(VENV)
