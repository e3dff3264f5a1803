# The README's quick start: `make demo`, then `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-ha check lint bench soak clean install browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e '.[test,lint]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/stockd demo

# Three workers, a test file each at a time (pytest-xdist): the suites mostly wait on
# PostgreSQL, subprocesses and browsers, so three share two cores well (7 min, not 40).
# TEST_WORKERS=0 runs them in this process, one after another.
TEST_WORKERS ?= 3
XDIST := $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile)

test: $(STAMP)
	scripts/ensure-test-tools
	$(BIN)/python -m pytest $(XDIST) $(PYTEST_ARGS)

# The Patroni drill and the pooler suite on deploy/ha's stack (about 2.5 minutes; kept
# out of `make test`): STOCKD_HA_TESTS=all make test-ha runs every drill.
test-ha: $(STAMP)
	scripts/ensure-test-tools
	STOCKD_HA_TESTS=$${STOCKD_HA_TESTS:-1} $(BIN)/python -m pytest tests/ha -s $(PYTEST_ARGS)

check: $(STAMP)
	scripts/check

bench: $(STAMP)
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

# A 5-minute run with PostgreSQL restarts, gateway SIGKILLs, reconnecting displays and a
# garbage line; SOAK_SECONDS=60 make soak for a short one (CI runs a shorter test).
SOAK_SECONDS ?= 300
soak: $(STAMP)
	$(BIN)/python -m tests.soak.soak --seconds $(SOAK_SECONDS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
