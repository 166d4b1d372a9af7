"""deploy/docker: each Dockerfile passes hadolint and follows the image rules."""

from __future__ import annotations

import ast
import fnmatch
import importlib.util
import json
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement

DOCKERFILES = ("ingest", "responder", "sender", "admin-api", "migrate", "devstack")
# What each image installs: the shared contract plus its own package, nothing else.
PACKAGES = {
    "ingest": {"libs/common", "services/ingest"},
    "responder": {"libs/common", "services/responder"},
    "sender": {"libs/common", "services/sender"},
    "admin-api": {"libs/common", "services/admin-api"},
    "migrate": {"libs/common"},
    "devstack": {"deploy/local"},
}


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    text = re.sub(r"\\\n", " ", path.read_text())
    out = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            keyword, _, rest = stripped.partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def test_every_dockerfile_is_accounted_for(h: Any) -> None:
    found = {p.name.removesuffix(".Dockerfile") for p in (h.repo / "deploy/docker").glob("*")}
    assert found - {"healthcheck.py"} == set(DOCKERFILES)


@pytest.mark.parametrize("name", DOCKERFILES)
def test_hadolint(deploy_tools: Any, h: Any, name: str) -> None:
    path = h.repo / "deploy/docker" / f"{name}.Dockerfile"
    # Default failure threshold: any finding, style included, fails.
    result = subprocess.run(
        [str(deploy_tools.hadolint), "--no-color", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_reports_a_bad_dockerfile(deploy_tools: Any, tmp_path: Path) -> None:
    # Guards the test above: hadolint must actually be checking.
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN cd /tmp && pip install requests\n")
    result = subprocess.run(
        [str(deploy_tools.hadolint), "--no-color", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "DL3007" in result.stdout  # "latest" tag


@pytest.mark.parametrize("name", DOCKERFILES)
def test_image_rules(h: Any, name: str) -> None:
    steps = instructions(h.repo / "deploy/docker" / f"{name}.Dockerfile")
    keywords = [k for k, _ in steps]
    assert any(a == "PYTHON_IMAGE=python:3.11-slim-bookworm" for k, a in steps if k == "ARG")
    assert keywords.count("FROM") == 2, "multi-stage: build, then runtime"
    final = keywords[len(keywords) - 1 - keywords[::-1].index("FROM") :]
    users = [a for k, a in steps if k == "USER"]
    assert users == ["10001:10001"], "runtime runs as the fixed non-root uid"
    assert "USER" in final
    health = [a for k, a in steps if k == "HEALTHCHECK"]
    assert len(health) == 1
    if name == "migrate":
        assert health == ["NONE"], "a one-shot job has nothing to probe"
    else:
        assert "CMD" in health[0]
    assert "ENTRYPOINT" in final

    copied = {
        a.split()[0].rstrip("/")
        for k, a in steps
        if k == "COPY" and not a.startswith("--from") and not a.startswith("constraints")
    }
    copied.discard("deploy/docker/healthcheck.py")
    assert copied == PACKAGES[name]
    for source in copied:
        assert (h.repo / source / "pyproject.toml").is_file(), source


def test_dockerignore_lets_in_exactly_what_the_images_copy(h: Any) -> None:
    lines = [
        line.strip()
        for line in (h.repo / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*", "start from nothing, then allow"

    def included(path: str) -> bool:
        keep = False
        for pattern in lines:
            negate = pattern.startswith("!")
            pat = pattern.lstrip("!").rstrip("/")
            if fnmatch.fnmatch(path, pat) or path.startswith(pat + "/"):
                keep = negate
        return keep

    wanted = ["constraints.txt", "deploy/docker/healthcheck.py"]
    for packages in PACKAGES.values():
        for package in packages:
            wanted += [f"{package}/pyproject.toml", f"{package}/src"]
    for path in wanted:
        assert included(path), f".dockerignore excludes {path}"
    for path in ("services/sender/tests", ".venv", ".stack", ".git", "docs/architecture.md"):
        assert not included(path), f".dockerignore lets {path} in"


@pytest.mark.parametrize("name", DOCKERFILES)
def test_entrypoint_module_exists(h: Any, name: str) -> None:
    steps = instructions(h.repo / "deploy/docker" / f"{name}.Dockerfile")
    command = [json.loads(a) for k, a in steps if k in ("ENTRYPOINT", "CMD")]
    argv = [part for chunk in command for part in chunk]
    module = argv[argv.index("-m") + 1]
    spec = importlib.util.find_spec(module)
    assert spec is not None, f"{name}: python -m {module} has nothing to run"
    if spec.submodule_search_locations is not None:  # a package runs its __main__
        assert importlib.util.find_spec(f"{module}.__main__"), f"{module} has no __main__"


def _requirement_closure(distribution: str) -> set[str]:
    """The distribution and everything it installs, by normalised name (no extras)."""
    seen: set[str] = set()
    todo = [distribution]
    while todo:
        name = re.sub(r"[-_.]+", "-", todo.pop()).lower()
        if name in seen:
            continue
        seen.add(name)
        for line in metadata.requires(name) or []:
            req = Requirement(line)
            # Skip extras and requirements for other Pythons or platforms, as pip would.
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return seen


def _imported_top_levels(source_dir: Path) -> set[str]:
    names: set[str] = set()
    for path in source_dir.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("name", ["ingest", "responder", "sender", "admin-api"])
def test_image_installs_every_module_the_service_imports(h: Any, name: str) -> None:
    # The images install the service's declared dependencies only (no dev venv), so an
    # import that works here through another package's dependency would crash there.
    closure = _requirement_closure(f"mailroom-{name}")
    providers = metadata.packages_distributions()
    missing = []
    for module in sorted(_imported_top_levels(h.repo / "services" / name / "src")):
        if module in sys.stdlib_module_names or module.startswith("mailroom_"):
            continue
        dists = {re.sub(r"[-_.]+", "-", d).lower() for d in providers.get(module, [])}
        if not dists & closure:
            missing.append(f"{module} (from {sorted(dists) or 'no installed distribution'})")
    assert not missing, f"services/{name}/pyproject.toml does not declare: {missing}"
