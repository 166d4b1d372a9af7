# syntax=docker/dockerfile:1
# mailroom devstack image: the offline Groq-compatible LLM for docker compose (development only). Build from the repository root:
#   docker build -f deploy/docker/devstack.Dockerfile -t mailroom/devstack .
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: a virtualenv holding only this service's packages, installed from wheels ---
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python -m venv /opt/mailroom
COPY constraints.txt ./
COPY deploy/local/ deploy/local/
# Non-editable installs; constraints.txt pins every third-party version the repo tests with.
RUN /opt/mailroom/bin/pip install --no-cache-dir -c constraints.txt ./deploy/local

# --- runtime: no compilers, no sources, no pip cache; a fixed non-root uid ---
FROM ${PYTHON_IMAGE}
ENV PATH=/opt/mailroom/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    OTEL_SERVICE_NAME=devstack \
    MAILROOM_LLM_HOST=0.0.0.0 \
    MAILROOM_LLM_PORT=28080
RUN groupadd --system --gid 10001 mailroom \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/mailroom --create-home \
       --shell /usr/sbin/nologin mailroom
COPY --from=build /opt/mailroom /opt/mailroom
COPY deploy/docker/healthcheck.py /opt/mailroom/healthcheck.py
WORKDIR /var/lib/mailroom
USER 10001:10001
EXPOSE 28080
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "/opt/mailroom/healthcheck.py", "http://127.0.0.1:${MAILROOM_LLM_PORT}/healthz"]
ENTRYPOINT ["python", "-m", "mailroom_devstack.llm_server"]
