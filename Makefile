# The common tasks. Every target creates the virtualenv (.venv) and installs the dependencies
# first when needed, so `make test` and `make demo` work on a fresh clone.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# make test runs the suite in TEST_WORKERS pytest-xdist workers, each test file whole on one, the long
# files first (tests/conftest.py orders them); TEST_WORKERS=0 runs it in this process.
TEST_WORKERS ?= 2
PYTEST_ARGS ?=
LAB_PORT ?= 8888
DASHBOARD_PORT ?= 8866
URL ?=

.PHONY: install lint format typecheck test check bench demo docs sandbox-image lab clean

# Dependencies are compiled to bytecode once, here: with PYTHONDONTWRITEBYTECODE set (as on these
# machines) every kernel, server and subprocess would otherwise compile pandas, IPython and the rest
# from source again (5.4 s of CPU per process start against 1.7 s, measured).
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip --version >/dev/null 2>&1 || $(BIN)/python -m ensurepip >/dev/null
	@$(BIN)/python -m pip install -q --disable-pip-version-check uv
	$(BIN)/python -m uv pip install -q --compile-bytecode --python $(BIN)/python -e '.[dev]'
	@touch $(STAMP)

# The bundled skills' modules too, in the checked-hash form a copy or a read-only mount keeps valid
# (Python hashes the source; an edited module is compiled as before): a docker sandbox cannot write
# the bytecode it compiles, so without this every run of a skill's script compiled its modules again
# (`make demo`: analyze 0.45-0.49 -> 0.40-0.41 s, report 2.54-2.56 -> 2.35-2.40 s, measured).
install: $(STAMP)
	@$(BIN)/python -m compileall -q --invalidation-mode checked-hash skills >/dev/null

lint: install
	$(BIN)/ruff check conjure_nb tests bench skills docs/conf.py docs/_ext
	$(BIN)/ruff format --check conjure_nb tests bench skills docs/conf.py docs/_ext

format: install
	$(BIN)/ruff format conjure_nb tests bench skills docs/conf.py docs/_ext
	$(BIN)/ruff check --fix conjure_nb tests bench skills docs/conf.py docs/_ext

typecheck: install
	$(BIN)/mypy

test: install
	$(BIN)/python -m pytest --durations=25 $(if $(filter-out 0,$(TEST_WORKERS)),-n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder) $(PYTEST_ARGS)

check: lint typecheck test

bench: install
	@for b in bench/bench_*.py; do echo "# $$b" >&2; $(BIN)/python $$b || exit 1; done

demo: install
	$(BIN)/conjure-nb demo run --out out

# the documentation site, offline, warnings as errors; notebooks are shown as stored, never re-run
docs: install
	$(BIN)/sphinx-build -W --keep-going -n -q -b html docs docs/_build/html

lab: install  # the tutorials in a local JupyterLab on 127.0.0.1:$(LAB_PORT) (works as root, as in containers)
	@token=$$($(BIN)/python -c 'import secrets; print(secrets.token_hex(16))'); \
	echo "JupyterLab: open http://127.0.0.1:$(LAB_PORT)/lab?token=$$token  (Ctrl-C to stop)"; \
	$(BIN)/jupyter lab notebooks/ --no-browser --ip=127.0.0.1 --port=$(LAB_PORT) --ServerApp.port_retries=0 \
		--allow-root --IdentityProvider.token=$$token

dashboard: install  # the monitoring dashboard (Voila) on 127.0.0.1:$(DASHBOARD_PORT); URL=... to watch a log API
	$(BIN)/conjure-nb dashboard --port $(DASHBOARD_PORT) $(URL)

binder-badge: install  # the README's Binder badge, from [project.urls] Repository in pyproject.toml
	$(BIN)/python scripts/binder_badge.py

sandbox-image: install
	$(BIN)/conjure-nb sandbox build --offline

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache docs/_build
