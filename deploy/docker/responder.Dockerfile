# syntax=docker/dockerfile:1
# mailroom responder image. Build from the repository root:
#   docker build -f deploy/docker/responder.Dockerfile -t mailroom/responder .
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: a virtualenv holding only this service's packages, installed from wheels ---
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python -m venv /opt/mailroom
COPY constraints.txt ./
COPY libs/common/ libs/common/
COPY services/responder/ services/responder/
# Non-editable installs; constraints.txt pins every third-party version the repo tests with.
RUN /opt/mailroom/bin/pip install --no-cache-dir -c constraints.txt ./libs/common ./services/responder

# --- runtime: no compilers, no sources, no pip cache; a fixed non-root uid ---
FROM ${PYTHON_IMAGE}
ENV PATH=/opt/mailroom/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    OTEL_SERVICE_NAME=responder \
    RESPONDER_WEB_HOST=0.0.0.0 \
    RESPONDER_WEB_PORT=6066
RUN groupadd --system --gid 10001 mailroom \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/mailroom --create-home \
       --shell /usr/sbin/nologin mailroom
COPY --from=build /opt/mailroom /opt/mailroom
COPY deploy/docker/healthcheck.py /opt/mailroom/healthcheck.py
WORKDIR /var/lib/mailroom
USER 10001:10001
EXPOSE 6066
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "/opt/mailroom/healthcheck.py", "http://127.0.0.1:${RESPONDER_WEB_PORT}/healthz"]
ENTRYPOINT ["python", "-m", "mailroom_responder", "worker"]
