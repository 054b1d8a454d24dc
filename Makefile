# Two entry points do every set-up step themselves on a fresh machine:
#   make example   runs the main example (a credential-rotation report)
#   make test      lint, types, the whole test suite (also under pytest-xdist), every example,
#                  and the benchmark in --quick mode
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: example test lint typecheck unit examples bench bench-quick clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e . --group test --group lint --group bench
	touch $@

example: $(BIN)/.installed
	$(BIN)/python examples/rotation_report.py

test: lint typecheck unit examples bench-quick

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(BIN)/.installed
	$(BIN)/mypy --strict sscstub

unit: $(BIN)/.installed
	$(BIN)/python -m pytest -n 2 -p xdist

examples: $(BIN)/.installed
	$(BIN)/python examples/run_all.py

bench: $(BIN)/.installed
	$(BIN)/python benchmarks/bench.py

bench-quick: $(BIN)/.installed
	$(BIN)/python benchmarks/bench.py --quick

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
