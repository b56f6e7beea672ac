# The two commands of the README. Each makes its own virtual environment.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		(echo "Python 3.11 or newer is needed (set PYTHON=...)" >&2; exit 1)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m scripts.demo

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

# scripts.promtool puts Debian's promtool in .venv/bin when none is found (deploy/ tests);
# scripts.oidc_provider installs the sign-in tests' OpenID provider with npm ci.
test: lint
	$(BIN)/python -m scripts.promtool
	$(BIN)/python -m scripts.oidc_provider
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .demo .pytest_cache .mypy_cache .ruff_cache tests/oidc_provider/node_modules

# Benchmarks (not part of the tests): results go to docs/benchmarks.md.
# BENCH_ARGS narrows a run, e.g. BENCH_ARGS="--only scale --databases sqlite".
bench: $(STAMP)
	$(BIN)/python -m bench.run $(BENCH_ARGS)
