# The two commands of the README. Both work on a fresh machine with Python 3.11 and access to the
# package registries; both (re)create .venv in the repository root, after which .venv/bin/crowdaudit
# is the CLI.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test test-oldest bench lint docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The light install: everything but TensorFlow.
$(VENV)/.installed-base: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

# Everything the tests use: TensorFlow, test tools, Chromium (Debian's package).
$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[classify,test]"
	touch $@ $(VENV)/.installed-base

demo: $(VENV)/.installed-base
	$(BIN)/crowdaudit demo

test: $(VENV)/.installed-test
	scripts/ensure-chromium
	$(BIN)/python -m pytest -q

# The floors of pyproject.toml, checked: a second environment with every direct dependency at the
# oldest release it allows (uv's lowest-direct resolution), and the whole suite run in it.
OLDEST := .venv-oldest
test-oldest: | $(BIN)/python
	$(BIN)/pip install --quiet uv
	$(BIN)/uv venv --quiet --allow-existing --python $(PYTHON) $(OLDEST)
	$(BIN)/uv pip install --quiet --python $(OLDEST)/bin/python --resolution lowest-direct -e ".[classify,test]"
	$(BIN)/uv pip install --quiet --python $(OLDEST)/bin/python pip  # the packaging test builds a wheel with it
	scripts/ensure-chromium
	$(OLDEST)/bin/python -m pytest -q

lint: $(VENV)/.installed-test
	$(BIN)/ruff check etl tests bench

bench: $(VENV)/.installed-test
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/classify.py

docs: $(VENV)/.installed-base
	$(BIN)/python -m etl.cli.reference > docs/cli.md

clean:
	rm -rf $(VENV) $(OLDEST) demo-output warehouse/*.duckdb
