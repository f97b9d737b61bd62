# ecslab: `make lab` opens the course, `make test` runs every test.
# Both create the virtual environment from requirements.lock when it is missing.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
APT_OK := $(shell command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && echo yes)

.PHONY: help lab test test-lib test-notebooks diagrams bench lock system-deps \
        graphviz chromium emulator-start emulator-stop clean

help:
	@echo "make lab    open the course in JupyterLab against the embedded emulator"
	@echo "make test   run every test, notebooks and browser checks included"
	@echo "make diagrams  re-render diagrams/*.svg;  make bench  print speed figures"

# Debian's python3 has no ensurepip until python3-venv is installed; a venv made
# without it has no pip, so that case starts again from scratch.
$(STAMP): requirements.lock pyproject.toml
	@test -x $(VENV)/bin/pip || { rm -rf $(VENV); $(PYTHON) -m venv $(VENV) 2>/dev/null; } || { \
	  rm -rf $(VENV); \
	  if [ "$(APT_OK)" = yes ]; then apt-get update -qq && apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); \
	  else echo "python3 cannot make a virtual environment: install python3-venv (sudo apt-get install python3-venv) and re-run make." >&2; exit 1; fi; }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	@# Strip notebook outputs on commit (the filter named in .gitattributes).
	-@git rev-parse --git-dir >/dev/null 2>&1 && $(VENV)/bin/nbstripout --install
	@touch $(STAMP)

# Graphviz draws the diagrams; Chromium checks the notebooks and SVGs in a browser.
# Installed from Debian's packages when we are root with apt-get, otherwise named.
system-deps: graphviz chromium

graphviz:
	@command -v dot >/dev/null 2>&1 || { \
	  if [ "$(APT_OK)" = yes ]; then apt-get update -qq && apt-get install -y -qq graphviz; \
	  else echo "Graphviz is missing: install it (sudo apt-get install graphviz) and re-run make." >&2; exit 1; fi; }

chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$(APT_OK)" = yes ]; then apt-get update -qq && apt-get install -y -qq chromium; \
	  else echo "Chromium is missing: browser checks will be skipped (sudo apt-get install chromium)." >&2; fi; }

# The notebooks draw their architecture with Graphviz, so the lab needs it too.
lab: $(STAMP) graphviz
	$(VENV)/bin/ecslab lab

test: $(STAMP) system-deps
	$(PY) -m pytest tests --nbval-lax notebooks

test-lib: $(STAMP)
	$(PY) -m pytest tests

test-notebooks: $(STAMP)
	$(PY) -m pytest --nbval-lax notebooks

diagrams: $(STAMP) graphviz
	$(PY) diagrams/render.py

bench: $(STAMP)
	$(PY) bench/run.py

emulator-start: $(STAMP)
	$(VENV)/bin/ecslab emulator start

emulator-stop: $(STAMP)
	$(VENV)/bin/ecslab emulator stop

# Re-pin every dependency to what resolves today (review the diff before committing).
lock:
	rm -rf build/lockenv && $(PYTHON) -m venv build/lockenv
	build/lockenv/bin/pip install --quiet ".[test]"
	{ echo '# Exact pins for ecslab, installed by `make` into .venv. Regenerate with `make lock`.'; \
	  build/lockenv/bin/pip freeze --exclude ecslab; } > requirements.lock

clean:
	-$(VENV)/bin/ecslab emulator stop
	rm -rf $(VENV) build artifacts .pytest_cache
