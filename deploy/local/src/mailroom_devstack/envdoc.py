"""Find every settings variable of mailroom, and write the reference part of .env.example.

Settings classes are discovered, not listed: every ``BaseSettings`` subclass defined in a
service package or in ``mailroom_common.config``. The deployment tests use the same
discovery, so a new field is caught everywhere it must be set or documented.

    python -m mailroom_devstack.envdoc > /tmp/reference.env
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import typing
from enum import Enum

from pydantic import AliasChoices, AliasPath, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined
from pydantic_settings import BaseSettings

__all__ = [
    "SERVICES",
    "Variable",
    "common_classes",
    "field_env_names",
    "reference",
    "settings_classes",
    "variables_of",
]

# Service name (compose, k8s, OTEL_SERVICE_NAME) -> package.
SERVICES = {
    "ingest": "mailroom_ingest",
    "responder": "mailroom_responder",
    "sender": "mailroom_sender",
    "admin-api": "mailroom_admin_api",
}


def field_env_names(cls: type[BaseSettings], name: str, field: FieldInfo) -> tuple[str, ...]:
    """Every environment name that sets ``field``, the canonical one first."""
    alias = field.validation_alias
    if isinstance(alias, str):
        return (alias.upper(),)
    if isinstance(alias, AliasChoices):
        return tuple(str(c).upper() for c in alias.choices if not isinstance(c, AliasPath))
    prefix = str(cls.model_config.get("env_prefix", ""))
    return (f"{prefix}{field.alias or name}".upper(),)


def _is_secret(field: FieldInfo) -> bool:
    return any(arg is SecretStr for arg in (field.annotation, *typing.get_args(field.annotation)))


def settings_classes(package: str) -> list[type[BaseSettings]]:
    """BaseSettings subclasses defined in ``package`` or any of its modules."""
    root = importlib.import_module(package)
    modules = [root]
    for info in pkgutil.walk_packages(getattr(root, "__path__", []), prefix=f"{package}."):
        if info.name.rsplit(".", 1)[-1] == "__main__":
            continue  # importing it would start the service
        modules.append(importlib.import_module(info.name))
    found: dict[str, type[BaseSettings]] = {}
    for module in modules:
        for obj in vars(module).values():
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseSettings)
                and obj is not BaseSettings
                and obj.__module__.startswith(package)
            ):
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return list(found.values())


def common_classes() -> list[type[BaseSettings]]:
    return settings_classes("mailroom_common.config")


class Variable(typing.NamedTuple):
    names: tuple[str, ...]
    required: bool
    secret: bool
    owner: str
    description: str
    default: str


def _default(field: FieldInfo) -> str:
    value = field.default
    if value is PydanticUndefined or field.is_required():
        return ""
    if field.default_factory is not None:
        value = field.default_factory()  # type: ignore[call-arg]
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if isinstance(value, Enum):
        value = value.value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple | dict):
        import json

        return json.dumps(value, default=str)
    return str(value)


def variables_of(classes: list[type[BaseSettings]]) -> list[Variable]:
    out = []
    for cls in classes:
        for name, field in cls.model_fields.items():
            out.append(
                Variable(
                    field_env_names(cls, name, field),
                    field.is_required(),
                    _is_secret(field),
                    f"{cls.__name__}.{name}",
                    (field.description or "").replace("\n", " "),
                    _default(field),
                )
            )
    return out


def reference() -> str:
    """Every variable, grouped by owner, as commented ``NAME=default`` lines."""
    lines: list[str] = []
    groups = [("shared by every service", common_classes())] + [
        (f"service {svc} ({pkg})", settings_classes(pkg)) for svc, pkg in SERVICES.items()
    ]
    seen: set[str] = set()
    for title, classes in groups:
        lines += ["", f"# --- {title} " + "-" * max(0, 80 - len(title))]
        for var in variables_of(classes):
            if var.names[0] in seen:
                continue
            seen.add(var.names[0])
            notes = [var.description] if var.description else []
            if len(var.names) > 1:
                notes.append("also read as " + ", ".join(var.names[1:]))
            if var.required:
                notes.append("required")
            if var.secret:
                notes.append("secret")
            if notes:
                lines.append(f"# {var.names[0]}: " + "; ".join(n.rstrip(".") for n in notes))
            lines.append(f"# {var.names[0]}={'' if var.secret else var.default}")
    return "\n".join(lines).lstrip("\n") + "\n"


if __name__ == "__main__":
    print(reference(), end="")
