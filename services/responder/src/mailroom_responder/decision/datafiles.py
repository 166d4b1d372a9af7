"""Reading the decision's data files: the packaged ones, or a shop's own. I/O at start-up."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml

__all__ = ["read_text", "read_yaml_mapping"]


def read_text(name: str, path: Path | None = None) -> str:
    """``path``'s text, or the packaged file ``name`` when no path is given."""
    if path is None:
        return resources.files("mailroom_responder.decision").joinpath(name).read_text("utf-8")
    return path.read_text("utf-8")


def read_yaml_mapping(name: str, path: Path | None, what: str) -> dict[str, Any]:
    """A YAML file that must hold a mapping; ValueError naming ``what`` otherwise."""
    data = yaml.safe_load(read_text(name, path))
    if not isinstance(data, dict):
        raise ValueError(f"{what} file must be a YAML mapping")
    return data
