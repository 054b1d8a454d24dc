# Two entry points do every set-up step themselves on a fresh machine:
#   make example   runs the main example (a credential-rotation report) in the smallest
#                  environment that can: sscstub, boto3 and freezegun, nothing else
#   make test      lint, types, the package, the whole test suite on every supported Python on
#                  the machine, the real clients, every example, and the benchmarks (--quick)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: example test lint typecheck package unit unit-clients unit-pythons unit-moto clients \
	unit-oldest-botocore unit-bearer-botocore unit-aio examples bench bench-quick mutation clean

# --- make example: what the example imports (sscstub, boto3, freezegun), no dev tooling ------
.venv-example/.installed: pyproject.toml
	$(PYTHON) -m venv .venv-example
	.venv-example/bin/python -m pip install --quiet --disable-pip-version-check -e . boto3 freezegun
	touch $@

example: .venv-example/.installed
	.venv-example/bin/python examples/rotation_report.py

# --- the development environment, for every other target ---------------------------------------
$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e . --group test --group lint --group bench \
	  --group package
	touch $@

test: lint typecheck package unit unit-clients unit-pythons unit-oldest-botocore \
	unit-bearer-botocore unit-aio unit-moto examples bench-quick

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy and pyright on the package and on typed user code; pyright also rates the public API's
# annotations (--verifytypes), which must be complete.
typecheck: $(BIN)/.installed
	$(BIN)/mypy --strict sscstub tests/typing/user_code.py
	$(BIN)/pyright tests/typing/user_code.py
	PYTHONPATH=$(CURDIR) $(BIN)/pyright --verifytypes sscstub --ignoreexternal

# The sdist and wheel, checked as PyPI would; tests/test_packaging.py unpacks the sdist and
# collects its tests.
package: $(BIN)/.installed
	rm -rf dist
	$(BIN)/python -m build --outdir dist . >/dev/null
	$(BIN)/twine check --strict dist/*

unit: $(BIN)/.installed
	$(BIN)/python -m pytest -n 2 -p xdist -p randomly --durations=15 --ignore=tests/clients

# The real clients (AWS CLI v2 and v1, the JavaScript SDK, R's paws, curl) against the endpoint;
# the summary line says which ran and which were skipped, and why.
clients:
	bash .ci/install-clients
unit-clients: $(BIN)/.installed clients
	$(BIN)/python -m pytest -p no:randomly -q -rs tests/clients

# The suite on every other supported Python (3.10 to 3.13) found on the machine, each in its
# own venv; the newest also with -W error and Python's development mode.
unit-pythons:
	bash .ci/pythons

# The oldest botocore pyproject.toml admits (its model predates API keys and List paging), in
# its own venv: the files that must hold on every botocore.
OLDEST_BOTOCORE := 1.29.0
.venv-botocore-oldest/.installed: pyproject.toml
	$(PYTHON) -m venv .venv-botocore-oldest
	.venv-botocore-oldest/bin/python -m pip install --quiet --upgrade pip
	.venv-botocore-oldest/bin/python -m pip install --quiet "botocore==$(OLDEST_BOTOCORE)" \
	  "boto3==1.26.0" pytest freezegun time-machine hypothesis uvicorn httptools httpx
	.venv-botocore-oldest/bin/python -m pip install --quiet --no-deps -e .
	touch $@
unit-oldest-botocore: .venv-botocore-oldest/.installed
	.venv-botocore-oldest/bin/python -c "import botocore; assert botocore.__version__ == '$(OLDEST_BOTOCORE)'"
	.venv-botocore-oldest/bin/python -m pytest -q -p no:randomly -W "ignore::DeprecationWarning" \
	  tests/test_any_botocore.py tests/test_activation.py tests/test_options.py

# The oldest botocore with Bedrock's bearer tokens (AWS_BEARER_TOKEN_BEDROCK: 1.39.0, whose
# before-send request carries no context), in its own venv: the Bedrock key checks and the
# 2026-09 observations must hold there as on the newest.
BEARER_BOTOCORE := 1.39.0
.venv-botocore-bearer/.installed: pyproject.toml
	$(PYTHON) -m venv .venv-botocore-bearer
	.venv-botocore-bearer/bin/python -m pip install --quiet --upgrade pip
	.venv-botocore-bearer/bin/python -m pip install --quiet "botocore==$(BEARER_BOTOCORE)" \
	  "boto3==$(BEARER_BOTOCORE)" pytest freezegun time-machine hypothesis uvicorn httptools httpx
	.venv-botocore-bearer/bin/python -m pip install --quiet --no-deps -e .
	touch $@
unit-bearer-botocore: .venv-botocore-bearer/.installed
	.venv-botocore-bearer/bin/python -c "import botocore; assert botocore.__version__ == '$(BEARER_BOTOCORE)'"
	.venv-botocore-bearer/bin/python -m pytest -q -p no:randomly -W "ignore::DeprecationWarning" \
	  tests/test_bedrock_keys.py tests/test_observed.py tests/test_any_botocore.py

# aiobotocore (newest) and aioboto3 (which pins an older aiobotocore), each pinning its own
# botocore range, so each in its own venv; tests/aio/check_aiobotocore.py runs in both.
AIO_TEST := -m pytest -q -p no:randomly -p no:cacheprovider --noconftest -s tests/aio/check_aiobotocore.py
.venv-%/.installed: pyproject.toml
	$(PYTHON) -m venv .venv-$*
	.venv-$*/bin/python -m pip install --quiet --upgrade pip
	.venv-$*/bin/python -m pip install --quiet $* pytest
	.venv-$*/bin/python -m pip install --quiet --no-deps -e .
	touch $@
unit-aio: .venv-aiobotocore/.installed .venv-aioboto3/.installed
	.venv-aiobotocore/bin/python $(AIO_TEST)
	SSC_TEST_EXPECT_AIOBOTO3=1 .venv-aioboto3/bin/python $(AIO_TEST)

# moto composition, in moto's own venv (moto pins a botocore range).
unit-moto: .venv-moto/.installed
	.venv-moto/bin/python -m pytest -q -p no:randomly -p no:cacheprovider --noconftest \
	  tests/moto_venv/check_moto.py

examples: $(BIN)/.installed clients
	$(BIN)/python examples/run_all.py

# Each benchmark prints its figures, each a gate (a bound an issue asked for) or an aim, met or
# missed; the last line counts them (benchmarks/gates.py).
RESULTS := $(CURDIR)/.bench-results.jsonl
bench: $(BIN)/.installed
	rm -f $(RESULTS)
	BENCH_RESULTS=$(RESULTS) $(BIN)/python benchmarks/bench.py
	cd benchmarks && BENCH_RESULTS=$(RESULTS) ../$(BIN)/python bench_endpoint.py
	cd benchmarks && BENCH_RESULTS=$(RESULTS) ../$(BIN)/python bench_compose.py
	cd benchmarks && BENCH_RESULTS=$(RESULTS) ../$(BIN)/python bench_cql.py
	$(BIN)/python benchmarks/gates.py $(RESULTS)

bench-quick: $(BIN)/.installed
	rm -f $(RESULTS)
	BENCH_RESULTS=$(RESULTS) $(BIN)/python benchmarks/bench.py --quick
	cd benchmarks && BENCH_RESULTS=$(RESULTS) ../$(BIN)/python bench_endpoint.py --quick
	cd benchmarks && BENCH_RESULTS=$(RESULTS) ../$(BIN)/python bench_compose.py --quick
	cd benchmarks && BENCH_RESULTS=$(RESULTS) ../$(BIN)/python bench_cql.py --quick
	$(BIN)/python benchmarks/gates.py $(RESULTS) --quick

clean:
	rm -rf $(VENV) .venv-* .pytest_cache .mypy_cache .ruff_cache dist build .bench-results.jsonl

# Mutation testing (issue #27; mutation/README.md): mutmut over the rules and the engine with the
# fast tests, then each module's score and every mutant not caught, named or not. Not part of
# `make test`: about an hour on two cores.
MUTATION := .venv-mutation
$(MUTATION)/.installed: pyproject.toml
	$(PYTHON) -m venv $(MUTATION)
	$(MUTATION)/bin/python -m pip install --quiet --upgrade pip
	$(MUTATION)/bin/python -m pip install --quiet "mutmut>=3.8,<4" --group test
	touch $@
mutation: $(MUTATION)/.installed
	rm -rf mutants
	CI=true SSC_TEST_HYPOTHESIS_EXAMPLES=25 $(MUTATION)/bin/mutmut run --max-children 2 \
	  >mutation/last-run.log 2>&1 || (tail -20 mutation/last-run.log; exit 1)
	$(MUTATION)/bin/python mutation/report.py
