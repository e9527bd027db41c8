# ImageStudio — `make run` serves the studio, `make test` runs the suite.
# Both build .venv from requirements.lock (hash-pinned) when it is missing or older.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-from-lock

.PHONY: run test lint format bench lock messages check-python clean-venv

check-python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null || { \
	  echo "error: ImageStudio needs Python >= 3.12, but '$(PYTHON)' is $$($(PYTHON) --version 2>&1 || echo missing); install 3.12 (pyenv reads .python-version) or run: make PYTHON=/path/to/python3.12 ..." >&2; \
	  exit 1; }

# uv (itself hash-pinned in requirements-uv.lock) installs the lock in ~30 s where pip takes
# ~100 s on two cores; where uv cannot reach an index (it does not read pip's configuration),
# pip installs the same hashes. Compiled up front, as pip does: where PYTHONDONTWRITEBYTECODE
# is set, nothing would ever be, and every process would compile Django again (~3 s each).
$(STAMP): requirements.lock requirements-uv.lock | check-python
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-uv.lock 2>/dev/null \
	  && $(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python --require-hashes -r requirements.lock \
	  || $(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m imagestudio.launcher

# mypy's cache outlives a checkout (it checks each file's hash, so a fresh clone reuses it):
# a cold run costs ~20 s of the test run.
MYPY_CACHE_DIR ?= $(HOME)/.cache/imagestudio/mypy
export MYPY_CACHE_DIR

# The sign-in tests' OpenID provider (npm's oidc-provider, pinned by its lock), where Node.js
# is installed; without it (or when its install fails) those tests skip, and under CI=true
# they fail, saying what is missing.
OIDC_PROVIDER := tests/oidc/node_modules/.package-lock.json
$(OIDC_PROVIDER): tests/oidc/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  (cd tests/oidc && npm ci --no-audit --no-fund --loglevel=error) \
	    || echo "npm ci failed: the company sign-in tests will skip"; \
	else echo "npm is missing: the company sign-in tests will skip"; fi

test: $(STAMP) $(OIDC_PROVIDER)
	@# The studio's own modules too: the suite starts ~100 Django processes.
	@$(BIN)/python -m compileall -q imagestudio
	$(BIN)/python -m ruff check .
	$(BIN)/python -m mypy
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	$(BIN)/python -m tests.scaleout

lint: $(STAMP)
	$(BIN)/python -m ruff check .
	$(BIN)/python -m ruff format --check .
	$(BIN)/python -m mypy

format: $(STAMP)
	$(BIN)/python -m ruff format .
	$(BIN)/python -m ruff check --fix .

bench: $(STAMP)
	$(BIN)/python -m bench

# Refresh the Chinese catalogue from the code, then compile it (needs GNU gettext; the
# compiled .mo files are committed so that running the studio never does).
messages: $(STAMP)
	$(BIN)/python manage.py makemessages -l zh_Hans -d django --no-obsolete -i ".venv/*" -i "bench/*" -i "tests/*"
	$(BIN)/python manage.py makemessages -l zh_Hans -d djangojs --no-obsolete -i ".venv/*" -i "static/vendor/*"
	$(BIN)/python manage.py compilemessages -l zh_Hans

# Regenerate the lock from pyproject.toml (needs network access to the package index).
lock: check-python
	$(PYTHON) -m venv /tmp/imagestudio-lock && /tmp/imagestudio-lock/bin/pip install --quiet uv
	/tmp/imagestudio-lock/bin/uv pip compile pyproject.toml --extra dev --generate-hashes \
	  --python-version 3.12 -o requirements.lock
	echo "uv==$$(/tmp/imagestudio-lock/bin/uv --version | cut -d' ' -f2)" | /tmp/imagestudio-lock/bin/uv pip compile - \
	  --generate-hashes --python-version 3.12 --no-header -o requirements-uv.lock

clean-venv:
	rm -rf $(VENV)
