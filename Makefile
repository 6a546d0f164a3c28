# Set-up and everyday commands. Every target bootstraps .venv itself on a fresh machine, and
# rebuilds it when it was made with another Python (or no longer runs).
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed-stamp
RUNTIME = $(VENV)/.runtime-stamp
HOST   ?= 127.0.0.1
PORT   ?= 8090
PYENV  ?= $(HOME)/.pyenv/versions
# The interpreter a venv was made from, as "prefix-version": equal for $(PYTHON) and a good $(VENV).
WHICH_PYTHON = import sys; print(sys.base_prefix + "-" + ".".join(map(str, sys.version_info[:3])))
WANT_PYTHON := $(shell $(PYTHON) -c '$(WHICH_PYTHON)' 2>/dev/null)
HAVE_PYTHON := $(shell $(PY) -c '$(WHICH_PYTHON)' 2>/dev/null)
ifneq ($(WANT_PYTHON),$(HAVE_PYTHON))
VENV_STALE = FORCE
endif
# The quick subset `test-fast` runs (what CI runs on 3.13 and `test-pythons` on each Python):
# everything but the browser tests, the wheel build and the long conformance-suite runs.
FAST_IGNORE = --ignore=tests/test_docs_browser.py --ignore=tests/test_mock_browser.py --ignore=tests/test_mock_browser_teams.py \
              --ignore=tests/test_wheel.py --ignore=tests/test_contract_cli.py --ignore=tests/test_contract_suite.py \
              --ignore=tests/test_contract_stops.py

.PHONY: serve test test-fast test-pythons lint venv browser docs docs-generated readme clean connexion-gate FORCE

venv: $(STAMP)

# Two stamps: the runtime (the package alone: what `make serve` needs) and, on top of it, the test
# tools (`make test`, `make lint`: Playwright, mypy, ruff, twine, ...).
$(RUNTIME): pyproject.toml $(VENV_STALE)
	@test -n "$(WANT_PYTHON)" || { echo "$(PYTHON) does not run; set PYTHON=/path/to/python3.11+"; exit 1; }
	@if [ "$(WANT_PYTHON)" != "$(HAVE_PYTHON)" ]; then \
	  echo "(re)building $(VENV) with $(PYTHON) ($(WANT_PYTHON))"; rm -rf $(VENV); $(PYTHON) -m venv $(VENV); fi
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $(RUNTIME)

$(STAMP): $(RUNTIME)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

serve: $(RUNTIME)  ## serve session-mock (the API, Swagger UI, /__mock/ admin) on http://$(HOST):$(PORT); runtime only, no test tools
	$(VENV)/bin/session-mock --host $(HOST) --port $(PORT) $(MOCK_ARGS)

# RESULTS: reports of `session-contract run --report-json` to show, e.g. `make docs RESULTS="staging.json prod.json"`.
docs: $(RUNTIME)  ## build the static documentation site into site/ (the guides of docs/, and RESULTS if given)
	$(VENV)/bin/session-docs build site $(if $(RESULTS),--results $(RESULTS))

docs-generated: $(STAMP)  ## regenerate docs/reference/ and the generated blocks of the guides (a test fails while one is stale)
	$(VENV)/bin/session-docs reference --write docs/

readme: docs-generated  ## the old name of docs-generated

# Debian's chromium for the real-browser tests (root on CI machines; never a browser download).
browser:
	@test -x /usr/bin/chromium || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

lint: $(STAMP)  ## ruff and mypy (strict for the packages), configured in pyproject.toml
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

test: lint browser  ## run every test (lint first)
	$(PY) -m pytest

test-fast: $(STAMP)  ## the quick subset (no browser, wheel or long conformance runs)
	$(PY) -m pytest $(FAST_IGNORE)

# The fast tests on every supported Python from pyenv, each in its own venv (.venv-3.11, ...).
test-pythons:  ## the quick subset on Python 3.11, 3.12 and 3.13 (pyenv)
	@for v in 3.11 3.12 3.13; do \
	  py=$$(ls -d $(PYENV)/$$v.*/bin/python3 2>/dev/null | sort -V | tail -1); \
	  test -n "$$py" || { echo "no Python $$v under $(PYENV)"; exit 1; }; \
	  echo "== Python $$v ($$py)"; \
	  $(MAKE) --no-print-directory test-fast PYTHON=$$py VENV=.venv-$$v || exit 1; \
	done

# The Connexion upgrade gate: the speed-ups' differential tests (connexion_speedups against stock
# Connexion, answer for answer) in a scratch venv with the Connexion version given, e.g.
# `make connexion-gate CONNEXION=3.3.0`. Green there is what it takes to raise the pin in pyproject.toml.
CONNEXION ?= 3.3.0
GATE_VENV ?= .venv-connexion-gate
GATE_TESTS = tests/test_connexion_speedups.py tests/test_speedups_validators.py

connexion-gate:  ## run the speed-ups' differential tests against Connexion $(CONNEXION) in $(GATE_VENV)
	rm -rf $(GATE_VENV)
	$(PYTHON) -m venv $(GATE_VENV)
	$(GATE_VENV)/bin/python -m pip install --quiet -e .
	@# Installed over the pin on purpose: pip warns that the toolkit asks for another version.
	$(GATE_VENV)/bin/python -m pip install --quiet 'connexion[swagger-ui,uvicorn]==$(CONNEXION)' || true
	@$(GATE_VENV)/bin/python -c 'import importlib.metadata as m, sys; v = m.version("connexion"); print("connexion", v); sys.exit(v != "$(CONNEXION)")'
	$(GATE_VENV)/bin/python -m pytest -q $(GATE_TESTS)

clean:
	rm -rf $(VENV) .venv-3.* $(GATE_VENV) build dist *.egg-info
