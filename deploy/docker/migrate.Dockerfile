# syntax=docker/dockerfile:1
# mailroom migrate image: database migrations (and, in compose, topic creation). Build from the repository root:
#   docker build -f deploy/docker/migrate.Dockerfile -t mailroom/migrate .
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: a virtualenv holding only this service's packages, installed from wheels ---
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python -m venv /opt/mailroom
COPY constraints.txt ./
COPY libs/common/ libs/common/
# Non-editable installs; constraints.txt pins every third-party version the repo tests with.
RUN /opt/mailroom/bin/pip install --no-cache-dir -c constraints.txt ./libs/common

# --- runtime: no compilers, no sources, no pip cache; a fixed non-root uid ---
FROM ${PYTHON_IMAGE}
ENV PATH=/opt/mailroom/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    OTEL_SERVICE_NAME=migrate
RUN groupadd --system --gid 10001 mailroom \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/mailroom --create-home \
       --shell /usr/sbin/nologin mailroom
COPY --from=build /opt/mailroom /opt/mailroom
WORKDIR /var/lib/mailroom
USER 10001:10001
# A one-shot job: it exits when done, so there is nothing to probe.
HEALTHCHECK NONE
# Compose runs "migrate, then create the registry topics"; Kubernetes only migrates
# (Strimzi KafkaTopic resources own the topics there).
ENTRYPOINT ["python", "-m"]
CMD ["mailroom_common.db.migrate", "upgrade", "head"]
