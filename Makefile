# Relay: `make run` to try it, `make test` to test it.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
# pytest-xdist processes for `make test` (tests/conftest.py: the heavy tests take one of them)
TEST_WORKERS ?= 2

.PHONY: run test bench lint schema format typecheck migrate lock clean

# Installs come from the lock files only, every distribution pinned and its hash checked
# (README.md, Install). `make run` needs the runtime lock; everything else the dev lock.
PIP_INSTALL := $(PY) -m pip install --quiet --require-hashes

$(VENV)/.runtime-installed: requirements/runtime.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PIP_INSTALL) -r requirements/runtime.txt
	touch $@

$(VENV)/.installed: requirements/dev.txt $(VENV)/.runtime-installed
	$(PIP_INSTALL) -r requirements/dev.txt
	touch $@

## run: everything in one process (HTTP + WebSocket + every stage), embedded defaults unless env says otherwise
# PORT reaches settings too: RELAY_PUBLIC_URL (unsubscribe links) follows it unless set.
run: $(VENV)/.runtime-installed
	DEBUG=$${DEBUG:-1} PORT=$(PORT) $(PY) manage.py migrate --noinput
	DEBUG=$${DEBUG:-1} PORT=$(PORT) $(PY) manage.py demo_setup --port $(PORT)
	DEBUG=$${DEBUG:-1} PORT=$(PORT) $(PY) manage.py run_all --port $(PORT)

## test: the whole suite, on PostgreSQL/Redis/NATS at 127.0.0.1 when they answer (CI=true requires them)
test: $(VENV)/.installed
	@env_lines=$$($(PY) scripts/service_env.py) || exit 1; eval "$$env_lines"; \
	$(VENV)/bin/pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

## bench: throughput and latency against the JetStream ceiling (docs/BENCHMARKS.md)
bench: $(VENV)/.installed
	@env_lines=$$($(PY) scripts/service_env.py) || exit 1; eval "$$env_lines"; \
	$(PY) -m bench $(BENCH_ARGS)

## lint: ruff, formatting, and the import contracts of pyproject.toml (docs/ARCHITECTURE.md, Layers)
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

## schema: the OpenAPI schema (GET /api/schema) generates valid and without a warning, with and without demo mode
schema: $(VENV)/.installed
	for demo in 0 1; do \
	  SECRET_KEY=$${SECRET_KEY:-schema-check} RELAY_DEMO=$$demo $(PY) manage.py spectacular \
	    --validate --fail-on-warn --file /dev/null || exit 1; \
	done

format: $(VENV)/.installed
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy

migrate: $(VENV)/.installed
	$(PY) manage.py migrate --noinput

## lock: re-lock requirements/*.txt from the .in files (same pins where they still fit; UPGRADE=1 for the newest)
# CPython 3.11 on Linux: the image's and CI's platform. Hashes cover every file of each release.
LOCK := $(abspath $(VENV))/bin/uv pip compile --quiet --python-platform x86_64-manylinux_2_28 --python-version 3.11 \
	--generate-hashes --custom-compile-command "make lock" $(if $(UPGRADE),--upgrade)
lock: $(VENV)/.installed
	cd requirements && $(LOCK) runtime.in -o runtime.txt && $(LOCK) build.in -o build.txt \
		&& $(LOCK) dev.in -o dev.txt

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache .import_linter_cache .hypothesis .schemathesis
