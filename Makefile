# Everything a new user needs: `make demo`, `make test`, `make test-all`. The venv is built from the lock file.
VENV    ?= .venv
PYTHON  ?= python3
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)
ARGS    ?=

.PHONY: install demo test test-all prereqs prereqs-full lint typecheck unit unit-all lock clean bench bench-spark readme

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/pipefix demo --report demo-report.html $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests examples benchmarks docs
	$(BIN)/ruff format --check src tests examples benchmarks docs

typecheck: $(STAMP)
	$(BIN)/mypy

# The system prerequisites (PostgreSQL server, Chromium + chromedriver; Java for the full tier),
# checked in the first seconds: `sudo scripts/prereqs.sh install` brings what is missing.
prereqs:
	@scripts/prereqs.sh check everyday

prereqs-full:
	@scripts/prereqs.sh check full

# The tests run a worker per CPU where there is more than one (pytest-xdist's `-n auto`; files
# that share a costly session fixture share a worker: tests/parallel.py). ARGS come after, so
# `make unit ARGS="-n 0"` runs them in one process.
PARALLEL ?= $(shell [ "$$(nproc 2>/dev/null || echo 1)" -gt 1 ] && echo "-n auto")

# Everyday tier: every correctness test at small scale (tests/tiers.py), minutes on 2 cores.
unit: $(STAMP)
	$(BIN)/pytest $(PARALLEL) $(ARGS)

# Full tier: everything at full strength (500-example properties, every SIGKILL point, Spark).
unit-all: $(STAMP)
	PIPEFIX_TEST_TIER=full $(BIN)/pytest $(PARALLEL) $(ARGS)

test: prereqs lint typecheck unit

test-all: prereqs-full lint typecheck unit-all

# Rewrite the README's generated figures (the demo excerpt) from what `pipefix demo` prints now;
# tests/test_readme.py fails while they differ. ARGS=--check changes nothing.
readme: $(STAMP)
	$(BIN)/python docs/readme_figures.py $(ARGS)

# Re-pin every dependency (needs uv: `pip install uv`).
lock:
	uv pip compile pyproject.toml --extra dev --extra spark --python-version 3.11 --no-header -o requirements.lock

# Benchmarks against Soda Core, Great Expectations, dlt and Polars (writes BENCHMARKS.md).
# A venv of their own: the competitors never enter the product's dependencies.
BENCH_VENV  := .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.installed-$(shell cat requirements.lock benchmarks/requirements.lock pyproject.toml | cksum | cut -d' ' -f1)

$(BENCH_STAMP): requirements.lock benchmarks/requirements.lock pyproject.toml
	@test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install --quiet --no-deps -r requirements.lock -r benchmarks/requirements.lock
	$(BENCH_VENV)/bin/python -m pip install --quiet --no-deps -e .
	@rm -f $(BENCH_VENV)/.installed-*
	@touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BENCH_VENV)/bin/python benchmarks/run.py $(ARGS)

# pipefix on Spark local[2] beside DuckDB (needs Java 17+; a JVM per case, so minutes, not part
# of `make bench`): rewrites only the "Spark local[2]" section of BENCHMARKS.md, which `make bench`
# keeps. ARGS="--spark-sizes 1m" skips the 10M-row table; ARGS=--quick for a smoke run.
bench-spark: $(BENCH_STAMP)
	$(BENCH_VENV)/bin/python benchmarks/run.py --only spark $(ARGS)

clean:
	rm -rf $(VENV) $(BENCH_VENV) .pytest_cache .mypy_cache .ruff_cache build src/*.egg-info
