# Quick start: `make demo` and `make test` work on a fresh clone where only python3 exists.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: demo test lint typecheck pytest test-pythons wheel-check docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-core: pyproject.toml | $(BIN)/python
	$(PIP) install -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(PIP) install -e '.[dev]'
	touch $@ $(VENV)/.installed-core

$(VENV)/.installed-demo: pyproject.toml examples/antipatterns/requirements.txt examples/service/requirements.txt | $(BIN)/python
	$(PIP) install -e '.[probe]'
	# In a second step: the service's `loopsafe[runtime]` line is then met by this checkout.
	$(PIP) install -r examples/antipatterns/requirements.txt -r examples/service/requirements.txt
	touch $@ $(VENV)/.installed-core

# `loopsafe doctor` on both examples: the twin's blocking routes confirmed at runtime, the
# service clean (examples/demo.py says which, and exits 1 when either is not as expected).
demo: $(VENV)/.installed-demo
	$(BIN)/python examples/demo.py

test: $(VENV)/.installed-dev lint typecheck pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

pytest: $(VENV)/.installed-dev
	$(BIN)/pytest

# The checker's and the runtime monitor's tests on every other supported Python that is installed
# (pyenv has them here): the monitor reads interpreter internals (frames, done-callbacks).
test-pythons:
	@for v in 3.12 3.13; do \
	  py=""; \
	  for cand in $$(command -v python$$v) $$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/$$v*/bin/python$$v 2>/dev/null); do \
	    if $$cand -c 'import sys' >/dev/null 2>&1; then py=$$cand; break; fi; \
	  done; \
	  if [ -z "$$py" ]; then \
	    echo "WARNING: python$$v not found (pyenv has it on this machine kind): its tests did not run" >&2; \
	    echo "python$$v: not installed, skipped"; continue; \
	  fi; \
	  echo "== python$$v"; \
	  [ -x .venv-$$v/bin/python ] || $$py -m venv .venv-$$v || exit 1; \
	  .venv-$$v/bin/python -m pip --disable-pip-version-check -q install -e '.[dev]' pytest-asyncio || exit 1; \
	  .venv-$$v/bin/python -m pytest -q -p no:cacheprovider tests/check tests/cli tests/runtime || exit 1; \
	done

# Build the wheel and run it from a clean virtualenv (no dependencies needed by the checker).
wheel-check: $(VENV)/.installed-dev
	rm -rf dist /tmp/loopsafe-wheel-venv
	$(BIN)/python -m build --wheel --no-isolation --outdir dist . >/dev/null
	$(PYTHON) -m venv /tmp/loopsafe-wheel-venv
	/tmp/loopsafe-wheel-venv/bin/python -m pip --disable-pip-version-check -q install --no-deps dist/*.whl
	cd /tmp && /tmp/loopsafe-wheel-venv/bin/loopsafe --version
	/tmp/loopsafe-wheel-venv/bin/loopsafe check --no-cache examples/antipatterns > /tmp/loopsafe-wheel-out.txt; \
	  rc=$$?; test $$rc -eq 1 || { echo "wheel: expected exit 1 (findings), got $$rc" >&2; exit 1; }
	grep -q LS101 /tmp/loopsafe-wheel-out.txt
	/tmp/loopsafe-wheel-venv/bin/loopsafe check --no-cache examples/service
	cd /tmp && /tmp/loopsafe-wheel-venv/bin/python -c "from loopsafe.runtime.dashboard.app import assets; \
	  missing = {'index.html', 'app.js', 'style.css', 'favicon.svg'} - set(assets()); \
	  assert not missing, f'dashboard files missing from the wheel: {missing}'"
	@echo "wheel-check: ok"

docs: $(VENV)/.installed-core
	rm -f docs/rules/*.md
	$(BIN)/loopsafe rule --all --format markdown --output-dir docs/rules

clean:
	rm -rf $(VENV) .venv-3.12 .venv-3.13 dist build .loopsafe_cache .mypy_cache .ruff_cache .pytest_cache
