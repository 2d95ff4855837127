# Every target creates/updates the virtualenv and installs the project itself first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: install demo test test-serial lint bench mutate clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## main job: local stack up, a demo mix of callbacks through every scenario, summary, clean exit
demo: $(STAMP)
	$(BIN)/callbacks demo

## the whole suite, integration scenarios included, benchmarks excluded
test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -m "not bench" $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check delivery mock_webhook harness loadtests tests
	$(BIN)/ruff format --check delivery mock_webhook harness loadtests tests
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m pytest -m bench -s -p no:xdist tests/bench

## planted engine defects against the scenario suite (tests/mutate; slow, not part of `make test`)
MUTATE_ARGS ?=
mutate: $(STAMP)
	$(BIN)/python -m tests.mutate.runner $(MUTATE_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
