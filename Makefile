# The two commands: `make run` (the whole platform on embedded PostgreSQL/Redis) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PACKAGES := services gateway intake routing notifications bench

.PHONY: install run test lint format migrate seed clean bench

$(BIN)/aduan: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/aduan

run: install
	$(BIN)/aduan run

test: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check $(PACKAGES) migrations tests
	$(BIN)/ruff format --check $(PACKAGES) migrations tests
	$(BIN)/mypy $(PACKAGES)

format: install
	$(BIN)/ruff check --fix $(PACKAGES) migrations tests
	$(BIN)/ruff format $(PACKAGES) migrations tests

migrate: install
	$(BIN)/aduan migrate

seed: install
	$(BIN)/aduan seed

# Figures against the real stack (bench/results/latest.json); BENCH_ARGS=--quick for a smoke run.
bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache *.egg-info
