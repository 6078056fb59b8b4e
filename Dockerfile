# syntax=docker/dockerfile:1
# Relay: one image for the web server and every pipeline stage (the command chooses).
#   docker build -t relay .
# The builder installs the runtime lock (every distribution's hash checked) and Relay's own
# wheel into a venv; the final image is python:3.11-slim with that venv and nothing else:
# no compiler, no pip or setuptools, no test, lint or benchmark tool (requirements/dev.in stays out).

FROM python:3.11-slim AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
COPY requirements/ /src/requirements/
RUN python -m venv /opt/relay \
    && /opt/relay/bin/pip install --require-hashes -r /src/requirements/runtime.txt \
    && python -m venv /opt/build \
    && /opt/build/bin/pip install --require-hashes -r /src/requirements/build.txt
COPY . /src
RUN /opt/build/bin/pip wheel --no-deps --no-build-isolation --wheel-dir /wheels /src \
    && /opt/relay/bin/pip install --no-deps /wheels/relay-*.whl \
    && /opt/relay/bin/pip uninstall --yes pip setuptools

FROM python:3.11-slim
ENV PATH=/opt/relay/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=config.settings \
    RELAY_VAR_DIR=/var/lib/relay \
    RELAY_LIVENESS_FILE=/tmp/relay-liveness
COPY --from=builder /opt/relay /opt/relay
# Static files collected at build (WhiteNoise serves them); a throwaway key, as settings refuse
# to start without one and the image must carry none.
RUN useradd --system --uid 10001 --home-dir /var/lib/relay --create-home relay \
    && SECRET_KEY=collectstatic-at-build relay collectstatic --noinput --verbosity 0 \
    && chown -R relay:relay /var/lib/relay
# `relay <command>` is manage.py's equivalent; `python manage.py <command>` works here too.
COPY manage.py /app/manage.py
USER relay
WORKDIR /app
EXPOSE 8000
# The web server's liveness. Workers (`relay consume <stage>`, `relay scheduler`) override it
# with `python -m pipeline.liveness`, which checks RELAY_LIVENESS_FILE's age (docker-compose.yml).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/api/health/live', timeout=4)"]
CMD ["uvicorn", "config.asgi:application", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
