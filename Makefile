# The documented entry points: run, test, lint, bench, e2e, docs, dist, matrix.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_INSTALL := DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq

.PHONY: install test lint format bench soak run e2e docs dist matrix matrix-clean clean system-test-deps system-bench-deps

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $@

# Debian packages the tests need: chromium for the browser tests; redis-server, redis-sentinel
# and redis-tools (redis-cli, which creates a cluster) for the tests of a cache shared by several
# workers, in every shape; nginx for docs/deployment.md's site (the tests start and stop their
# own servers; RUNLEVEL=1 keeps Debian from starting nginx's service).
system-test-deps:
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v redis-sentinel >/dev/null || missing="$$missing redis-sentinel"; \
	command -v redis-cli >/dev/null || missing="$$missing redis-tools"; \
	command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing="$$missing nginx-light"; \
	if [ -n "$$missing" ]; then $(SUDO) apt-get update -qq && RUNLEVEL=1 $(APT_INSTALL) $$missing; fi

system-bench-deps:
	@command -v wrk >/dev/null || { $(SUDO) apt-get update -qq && $(APT_INSTALL) wrk; }

# pytest-xdist workers: twice the cores (at least 2). Much of the suite waits on servers it started
# (Redis failovers, subprocesses), so two workers per core keep both busy; worksteal moves the tests
# of a long file to idle workers. Each test is safe beside any other.
TEST_WORKERS ?= $(shell $(PYTHON) -c "import os; print(max(2, 2 * len(os.sched_getaffinity(0))))")
PYTEST_XDIST = -n $(TEST_WORKERS) --dist worksteal
# The tests start many Python processes (servers, commands): let them share compiled bytecode
# (__pycache__ is git-ignored) instead of compiling the package again in each one.
unexport PYTHONDONTWRITEBYTECODE

# The docs are built first: a broken reference or docstring fails the run, as any test would.
test: install system-test-deps docs
	$(BIN)/python -m pytest $(PYTEST_XDIST)

e2e: install system-test-deps
	$(BIN)/python -m pytest -m e2e

# The suite without the browser on every supported Python with the newest releases, and on the
# oldest one with the declared minimums (tests/constraints-minimum.txt): see noxfile.py.
# Pythons come from PATH and pyenv; a missing one is skipped and named. Venvs stay in .matrix/.
matrix: install system-test-deps
	$(BIN)/nox

# Forget the matrix's venvs: the next `make matrix` installs the newest releases again.
matrix-clean:
	rm -rf .matrix

lint: install
	$(BIN)/ruff check flask_authrocket tests examples bench noxfile.py
	$(BIN)/ruff format --check flask_authrocket tests examples bench noxfile.py
	$(BIN)/mypy --strict flask_authrocket
	$(BIN)/pre-commit validate-config .pre-commit-config.yaml

format: install
	$(BIN)/ruff format flask_authrocket tests examples bench noxfile.py
	$(BIN)/ruff check --fix flask_authrocket tests examples bench noxfile.py

bench: install system-bench-deps
	$(BIN)/python -m bench.run

# About 3.5 minutes of load on 127.0.0.1 while the key set, Redis (one server, then a Cluster
# master) and the API fail (bench/soak.py); exits 1 naming each target missed.
soak: install
	@command -v redis-server >/dev/null || { $(SUDO) apt-get update -qq && $(APT_INSTALL) redis-server; }
	@command -v redis-cli >/dev/null || { $(SUDO) apt-get update -qq && $(APT_INSTALL) redis-tools; }
	$(BIN)/python -m bench.soak

# The docs/ pages and the API reference (autodoc) as HTML, warnings as errors.
docs: install
	$(BIN)/sphinx-build -q -W --keep-going -b html docs docs/_build/html

# The sdist and the wheel, checked as the package index would.
dist: install
	rm -rf dist
	$(BIN)/python -m build --outdir dist .
	$(BIN)/twine check --strict dist/*

run: install
	$(BIN)/python -m examples.run

clean:
	rm -rf $(VENV) .matrix .pytest_cache .mypy_cache .ruff_cache build dist *.egg-info .bench docs/_build
