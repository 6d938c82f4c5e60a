# DockBack: `make up` runs it on this machine, `make test` runs the tests.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
MEMBERS := libs/contracts libs/runtime tools/ops services/gateway services/scheduler services/executor services/uploader services/notifier
INSTALLED := $(VENV)/.installed

WEB := services/web
WEB_DEPS := $(WEB)/node_modules/.installed
WEB_SOURCES := $(shell find $(WEB)/src $(WEB)/index.html $(WEB)/vite.config.ts $(WEB)/tsconfig.json -type f 2>/dev/null)

.PHONY: install up test lint format contracts-docs clean web web-client web-check

# Reinstall only when a pin or a member's metadata changed; the members are editable.
$(INSTALLED): constraints.txt requirements-dev.txt $(addsuffix /pyproject.toml,$(MEMBERS))
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "DockBack needs Python 3.11+ (PYTHON=$(PYTHON))")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -c constraints.txt -r requirements-dev.txt $(addprefix -e ,$(MEMBERS))
	@touch $@

install: $(INSTALLED)

# The web UI: npm packages exactly as locked, built again only when a source changed.
$(WEB_DEPS): $(WEB)/package.json $(WEB)/package-lock.json
	deploy/dev/ensure-web-tools
	cd $(WEB) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(WEB)/dist/index.html: $(WEB_DEPS) $(WEB_SOURCES)
	cd $(WEB) && npm run --silent build

web: $(WEB)/dist/index.html

# The typed API client, from the gateway's OpenAPI document (run after changing an API).
web-client: install $(WEB_DEPS)
	$(PY) tools/openapi.py $(WEB)/openapi.json
	cd $(WEB) && npm run --silent client

# The client matches the API, the UI type-checks, and its unit tests pass.
web-check: install $(WEB_DEPS)
	$(PY) tools/openapi.py --check $(WEB)/openapi.json
	cd $(WEB) && npx openapi-typescript openapi.json -o node_modules/.schema-check.d.ts --silent \
	  && cmp -s src/api/schema.d.ts node_modules/.schema-check.d.ts \
	  || { echo "$(WEB)/src/api/schema.d.ts is not generated from openapi.json: run make web-client" >&2; exit 1; }
	cd $(WEB) && npx tsc -b && npx vitest run

up: install web
	deploy/dev/ensure-docker
	$(PY) deploy/dev/stack.py

test: install web-check web
	deploy/dev/ensure-docker
	deploy/dev/ensure-web-tools --browser
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

# -- containers (deploy/): images built locally, the compose stack's smoke test ----------------
.PHONY: images images-clean compose-secrets compose-agent smoke

# The base images (debootstrapped Debian, Python, Node.js, PostgreSQL) and dockback:local on them;
# no registry needed. A second run reuses everything that did not change.
images:
	deploy/dev/ensure-docker
	deploy/smoke/ensure-tools
	deploy/smoke/images.sh

# deploy/secrets/ for compose: creates the missing keys and passwords, never changes one.
compose-secrets:
	deploy/compose-secrets.sh

# Another Docker host's NATS credentials (HOST=<its id>) into deploy/secrets/agent-<id>/, then a
# reload of NATS so it may connect; copy the files to that host (see deploy/compose.agent.yaml).
COMPOSE ?= docker compose
compose-agent:
	@test -n "$(HOST)" || { echo "usage: make compose-agent HOST=<host-id>" >&2; exit 2; }
	mkdir -p -m 0700 deploy/secrets/agent-$(HOST)
	$(COMPOSE) -f deploy/compose.yaml run --rm -v "$(CURDIR)/deploy/secrets/agent-$(HOST):/export" \
	  nats-auth --agent $(HOST) --export /export
	$(COMPOSE) -f deploy/compose.yaml kill -s HUP nats

# deploy/compose.yaml (NATS credentials on, + a second host from compose.agent.yaml) from the local
# images: every healthcheck, a login, a backup on each host, torn down. Own secrets, own projects.
smoke: images
	python3 deploy/smoke/smoke.py

# Remove the images `make images` built (the next `make images` starts cold).
images-clean:
	-docker image rm dockback:local dockback-local/postgres:15 dockback-local/node:20 \
	  dockback-local/python:3.11 dockback-local/debian:bookworm
