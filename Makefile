# Two entry points do every set-up step themselves on a fresh machine:
#   make example   runs the main example (a credential-rotation report)
#   make test      lint, types, the whole test suite (also under pytest-xdist), every example,
#                  and the benchmark in --quick mode
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: example test lint typecheck unit unit-clients unit-moto clients unit-oldest unit-oldest-botocore unit-aio examples bench bench-quick clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e . --group test --group lint --group bench
	touch $@

example: $(BIN)/.installed
	$(BIN)/python examples/rotation_report.py

test: lint typecheck unit unit-clients unit-oldest unit-oldest-botocore unit-aio unit-moto examples bench-quick

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(BIN)/.installed
	$(BIN)/mypy --strict sscstub tests/typing/user_code.py

unit: $(BIN)/.installed
	$(BIN)/python -m pytest -n 2 -p xdist -p randomly --ignore=tests/clients

# The real clients (AWS CLI v2 and v1, the JavaScript SDK, R's paws, curl) against the endpoint;
# the summary line says which ran.
clients:
	bash .ci/install-clients
unit-clients: $(BIN)/.installed clients
	$(BIN)/python -m pytest -p no:randomly -q -rs tests/clients

# The suite again on the oldest Python the package declares (3.9), in its own venv, when that
# interpreter is on the machine (pyenv puts it there on this project's CI machines).
OLDEST := $(shell for p in python3.9 $(HOME)/.pyenv/versions/3.9*/bin/python3.9; do \
	  $$p -c "import sys; assert sys.version_info[:2] == (3, 9)" 2>/dev/null && echo $$p && break; done)
unit-oldest:
ifeq ($(OLDEST),)
	@echo "unit-oldest: python3.9 not found; the suite ran on $$($(BIN)/python --version) only"
else
	test -x .venv39/bin/python || $(OLDEST) -m venv .venv39
	.venv39/bin/python -m pip install --quiet --upgrade pip
	.venv39/bin/python -m pip install --quiet -e . --group test
	.venv39/bin/python -m pytest -n 2 -p xdist -q -W "ignore:Boto3 will no longer support" --ignore=tests/clients
endif

# The oldest botocore pyproject.toml admits (its model predates API keys and List paging), in
# its own venv: the files that must hold on every botocore.
OLDEST_BOTOCORE := 1.29.0
.venv-botocore-oldest/.installed: pyproject.toml
	$(PYTHON) -m venv .venv-botocore-oldest
	.venv-botocore-oldest/bin/python -m pip install --quiet --upgrade pip
	.venv-botocore-oldest/bin/python -m pip install --quiet "botocore==$(OLDEST_BOTOCORE)" \
	  "boto3==1.26.0" pytest freezegun time-machine hypothesis
	.venv-botocore-oldest/bin/python -m pip install --quiet --no-deps -e .
	touch $@
unit-oldest-botocore: .venv-botocore-oldest/.installed
	.venv-botocore-oldest/bin/python -c "import botocore; assert botocore.__version__ == '$(OLDEST_BOTOCORE)'"
	.venv-botocore-oldest/bin/python -m pytest -q -p no:randomly -W "ignore::DeprecationWarning" \
	  tests/test_any_botocore.py tests/test_activation.py tests/test_options.py

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
	SSCSTUB_EXPECT_AIOBOTO3=1 .venv-aioboto3/bin/python $(AIO_TEST)

# moto composition, in moto's own venv (moto pins a botocore range).
unit-moto: .venv-moto/.installed
	.venv-moto/bin/python -m pytest -q -p no:randomly -p no:cacheprovider --noconftest \
	  tests/moto/check_moto.py

examples: $(BIN)/.installed clients
	$(BIN)/python examples/run_all.py

bench: $(BIN)/.installed
	$(BIN)/python benchmarks/bench.py
	cd benchmarks && ../$(BIN)/python bench_endpoint.py

bench-quick: $(BIN)/.installed
	$(BIN)/python benchmarks/bench.py --quick
	cd benchmarks && ../$(BIN)/python bench_endpoint.py --quick

clean:
	rm -rf $(VENV) .venv39 .venv-* .pytest_cache .mypy_cache .ruff_cache
