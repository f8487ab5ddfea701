# Two commands work on a fresh machine: `make demo` and `make test`.
# Both bootstrap .venv from the pinned versions in requirements.lock (uv makes it take seconds).

PYTHON ?= python3
VENV   := .venv
UV     := $(VENV)/bin/uv
STAMP  := $(VENV)/.aimod-installed

.PHONY: demo test test-fast bench clean chromium

# The browser tests drive the system Chromium (never a downloaded one): install it with apt when missing.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# --compile-bytecode: where PYTHONDONTWRITEBYTECODE is set (as here), nothing would ever be cached and every
# process (each Airflow component, task and CLI call) would compile Airflow from source again.
$(STAMP): requirements.lock pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip --version >/dev/null 2>&1 || $(VENV)/bin/python -m ensurepip --default-pip >/dev/null
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check uv==0.13.9
	$(UV) pip install --quiet --compile-bytecode --python $(VENV)/bin/python -r requirements.lock
	$(UV) pip install --quiet --python $(VENV)/bin/python --no-deps -e .
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/aimod demo

# Two workers, one test file each at a time (module-scoped Airflow stacks stay in one process): the e2e
# stacks mostly wait on the scheduler, so two files share the machine's cores well. Files go out in collection
# order, which tests/conftest.py sorts longest first.
test: $(STAMP) chromium
	$(VENV)/bin/python -m pytest -p no:cacheprovider -q -n 2 --dist loadfile --no-loadscope-reorder tests

# The inner loop: unit, adversarial and integration tests (no e2e stacks). `make test` and CI run everything.
test-fast: $(STAMP)
	$(VENV)/bin/python -m pytest -p no:cacheprovider -q -n 2 --dist loadfile --no-loadscope-reorder tests/unit tests/adversarial tests/integration

chromium:
	@command -v chromium >/dev/null 2>&1 || test -x /usr/bin/chromium || \
	  (echo "installing chromium with apt for the browser tests ..." && \
	   $(SUDO) apt-get update -q && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium) || \
	  echo "WARNING: could not install chromium; the browser tests will fail (apt-get install -y chromium)"

bench: $(STAMP)
	for b in benchmarks/bench_*.py; do $(VENV)/bin/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .aimod-demo
