# The README's quick start: `make demo`, then `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test check lint bench soak clean install browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e '.[test,lint]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/stockd demo

test: $(STAMP)
	scripts/ensure-test-tools
	$(BIN)/python -m pytest $(PYTEST_ARGS)

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
