# The two commands of the README: `make repro` (the whole pipeline) and `make test`.
# Each creates .venv and installs the project into it first, so a fresh clone needs nothing else.
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install repro test lint

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

repro: $(STAMP)
	PATH="$(BIN):$$PATH" dvc repro

lint: $(STAMP)
	$(BIN)/ruff check src pipelines tests
	$(BIN)/ruff format --check src pipelines tests

test: lint
	PATH="$(BIN):$$PATH" $(BIN)/python -m pytest
