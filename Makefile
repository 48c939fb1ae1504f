# The two commands of the README: `make repro` (the whole pipeline) and `make test`.
# Each creates .venv and installs the project into it first, so a fresh clone needs nothing else.
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed-stamp
RAY_STAMP := $(VENV)/.installed-ray-stamp

.PHONY: install repro test lint

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

# The tests also run the Ray launcher end to end, so `make test` adds the `ray` extra.
$(RAY_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,ray]'
	touch $(RAY_STAMP)

install: $(STAMP)

repro: $(STAMP)
	PATH="$(BIN):$$PATH" dvc repro

lint: $(STAMP)
	$(BIN)/ruff check src pipelines tests
	$(BIN)/ruff format --check src pipelines tests

# Two workers, one file at a time each: the pipeline's end-to-end files start first, in the
# order tests/conftest.py collects them (xdist would otherwise queue files by test count).
test: lint $(RAY_STAMP)
	PATH="$(BIN):$$PATH" $(BIN)/python -m pytest -n 2 --dist loadfile --no-loadscope-reorder
