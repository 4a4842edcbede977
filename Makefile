# Cairn: `make demo` and `make test` do all set-up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint typecheck layers unit bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: install
	CAIRN_TRACKING_URI=$${CAIRN_TRACKING_URI:-$(CURDIR)/cairn-store} $(BIN)/python examples/demo.py

lint: install
	$(BIN)/ruff check src tests bench examples
	$(BIN)/ruff format --check src tests bench examples

typecheck: install
	$(BIN)/mypy

layers: install
	$(BIN)/lint-imports

unit: install
	$(BIN)/pytest

test: lint typecheck layers unit

bench: install
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) cairn-store .mypy_cache .ruff_cache .pytest_cache
