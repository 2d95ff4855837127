# Every target creates/updates the virtualenv and installs the project itself first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
# the local stack's default SQS emulator, fauxqs (npm), pinned by harness/fauxqs/package-lock.json
FAUXQS_DIR := harness/fauxqs
FAUXQS := $(FAUXQS_DIR)/node_modules/.package-lock.json

.PHONY: install fauxqs demo test test-serial lint bench mutate clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

$(FAUXQS): $(FAUXQS_DIR)/package.json $(FAUXQS_DIR)/package-lock.json
	@command -v npm >/dev/null || { echo "fauxqs needs Node.js >= 20 and npm: apt-get install nodejs npm" >&2; exit 2; }
	cd $(FAUXQS_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $(FAUXQS)

install: $(STAMP) $(FAUXQS)

## the local stack's SQS emulator alone (fauxqs into harness/fauxqs/node_modules; Node.js >= 20 + npm)
fauxqs: $(FAUXQS)

## main job: local stack up, a demo mix of callbacks through every scenario, summary, clean exit
demo: $(STAMP) $(FAUXQS)
	$(BIN)/callbacks demo

## the whole suite, integration scenarios included, benchmarks excluded
test: $(STAMP) $(FAUXQS)
	$(BIN)/python -m pytest -n 2 -m "not bench" $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check delivery mock_webhook harness loadtests tests
	$(BIN)/ruff format --check delivery mock_webhook harness loadtests tests
	$(BIN)/mypy

bench: $(STAMP) $(FAUXQS)
	$(BIN)/python -m pytest -m bench -s -p no:xdist tests/bench

## planted engine defects against the scenario suite (tests/mutate; slow, not part of `make test`)
MUTATE_ARGS ?=
mutate: $(STAMP) $(FAUXQS)
	$(BIN)/python -m tests.mutate.runner $(MUTATE_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info $(FAUXQS_DIR)/node_modules
