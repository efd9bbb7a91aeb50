# vigil — the two commands that matter: `make console` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TESTSTAMP := $(VENV)/.installed-test

.PHONY: console test lint bench screenshots clean

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
	$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

lint: $(TESTSTAMP)
	$(BIN)/ruff check engine tui tests bench

bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

screenshots: $(TESTSTAMP)
	$(BIN)/python screenshots/make_screenshots.py

clean:
	rm -rf $(VENV) build *.egg-info
