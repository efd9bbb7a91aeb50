# vigil — the two commands that matter: `make console` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TESTSTAMP := $(VENV)/.installed-test

.PHONY: console test test-quick test-system-python test-recordings lint bench screenshots clean acceptance

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(TESTSTAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@ $(STAMP)

console: $(STAMP)
	$(BIN)/vigil console

test: $(TESTSTAMP)
	$(BIN)/ruff check engine tui tests bench
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

# The edit loop: ruff and the tests marked neither slow (more than a few seconds: the
# console's snapshots and pilots, daemons, the wheel) nor cfengine (they run CFEngine's
# programs); `make test` runs them all. See docs/CONTRIBUTING.md, "Test tiers".
test-quick: $(TESTSTAMP)
	$(BIN)/ruff check engine tui tests bench
	$(BIN)/python -m pytest -q -p no:cacheprovider -m "not slow and not cfengine" $(PYTEST_ARGS)

# The front end and the evaluator again, under the distribution's own python (Debian 12:
# 3.11.2, which requires-python admits) in a venv of its own. Skipped, exit 0, where
# $(SYSPYTHON) is absent or is the interpreter .venv is made from.
SYSPYTHON ?= /usr/bin/python3
SYSVENV   := .venv-system
SYSTESTS  ?= tests/engine/policy tests/engine/eval tests/engine/functions tests/conformance
REALPY    := import os, sys; print(os.path.realpath(sys._base_executable))

$(SYSVENV)/.installed-test: pyproject.toml
	$(SYSPYTHON) -m venv $(SYSVENV) || { rm -rf $(SYSVENV); \
	  echo "test-system-python: $(SYSPYTHON) -m venv failed (Debian: apt-get install python3-venv)"; exit 1; }
	$(SYSVENV)/bin/python -m pip install -q -e '.[test]'
	touch $@

test-system-python:
	@if [ ! -x "$(SYSPYTHON)" ]; then \
	  echo "test-system-python: skipped, $(SYSPYTHON) is absent"; \
	elif [ "$$($(SYSPYTHON) -c '$(REALPY)')" = "$$($(BIN)/python -c '$(REALPY)' 2>/dev/null || \
	         $(PYTHON) -c '$(REALPY)')" ]; then \
	  echo "test-system-python: skipped, $(SYSPYTHON) is the interpreter of $(VENV)"; \
	else \
	  $(MAKE) --no-print-directory $(SYSVENV)/.installed-test && \
	  echo "test-system-python: $$($(SYSVENV)/bin/python -V) from $(SYSPYTHON)" && \
	  $(SYSVENV)/bin/python -m pytest -q -p no:cacheprovider $(SYSTESTS) $(PYTEST_ARGS); \
	fi

# re-run cf-agent on every conformance case to check its recording still holds
test-recordings: $(TESTSTAMP)
	VIGIL_RECHECK_RECORDINGS=1 $(BIN)/python -m pytest -q -p no:cacheprovider tests/conformance -k test_recording

lint: $(TESTSTAMP)
	$(BIN)/ruff check engine tui tests bench
	$(BIN)/mypy

# CFEngine's acceptance suite (../shared/cfengine-acceptance, test data beside the project)
# on the tests cf-agent 3.21 passes; fails if a test in tests/acceptance-expected.txt fails.
# Skipped, exit 0, where the suite is absent.
acceptance: $(STAMP)
	$(BIN)/python -m tests.acceptance.ratchet $(ACCEPTANCE_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

screenshots: $(TESTSTAMP)
	$(BIN)/python screenshots/make_screenshots.py

clean:
	rm -rf $(VENV) $(SYSVENV) build *.egg-info
