# Relay: `make run` to try it, `make test` to test it.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000

.PHONY: run test bench lint schema format typecheck migrate clean

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

## run: everything in one process (HTTP + WebSocket + every stage), embedded defaults unless env says otherwise
# PORT reaches settings too: RELAY_PUBLIC_URL (unsubscribe links) follows it unless set.
run: $(VENV)/.installed
	DEBUG=$${DEBUG:-1} PORT=$(PORT) $(PY) manage.py migrate --noinput
	DEBUG=$${DEBUG:-1} PORT=$(PORT) $(PY) manage.py demo_setup --port $(PORT)
	DEBUG=$${DEBUG:-1} PORT=$(PORT) $(PY) manage.py run_all --port $(PORT)

## test: the whole suite, on PostgreSQL/Redis/NATS at 127.0.0.1 when they answer (CI=true requires them)
test: $(VENV)/.installed
	@env_lines=$$($(PY) scripts/service_env.py) || exit 1; eval "$$env_lines"; \
	$(VENV)/bin/pytest $(PYTEST_ARGS)

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

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache .import_linter_cache .hypothesis .schemathesis
