# Set-up and everyday commands. Every target bootstraps .venv itself on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed-stamp
HOST   ?= 127.0.0.1
PORT   ?= 8090

.PHONY: serve test venv browser docs clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $(STAMP)

serve: $(STAMP)  ## serve session-mock (the API, Swagger UI, /__mock/ admin) on http://$(HOST):$(PORT)
	$(VENV)/bin/session-mock --host $(HOST) --port $(PORT) $(MOCK_ARGS)

docs: $(STAMP)  ## build the static documentation site into site/
	$(VENV)/bin/session-docs build site

# Debian's chromium for the real-browser tests (root on CI machines; never a browser download).
browser:
	@test -x /usr/bin/chromium || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

test: $(STAMP) browser  ## run every test
	$(PY) -m pytest

clean:
	rm -rf $(VENV) build *.egg-info
