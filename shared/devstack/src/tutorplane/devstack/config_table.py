"""Render the README's configuration table from the services' settings classes (the single source of truth).

`python -m tutorplane.devstack.config_table --write` rewrites the block between the README markers;
a test fails when the README is out of date.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import Any

from pydantic_settings import BaseSettings
from tutorplane.common.settings import env_names

SERVICES: tuple[tuple[str, str], ...] = (
    ("gateway", "tutorplane.gateway.core.config:GatewaySettings"),
    ("agent", "tutorplane.agent.config:AgentSettings"),
    ("guardrail", "tutorplane.guardrail_service.settings:GuardrailServiceSettings"),
    ("operator", "tutorplane.operator.settings:OperatorSettings"),
    ("demo", "tutorplane.devstack.settings:DevstackSettings"),
)
START, END = "<!-- config-table:start -->", "<!-- config-table:end -->"


def _load(path: str) -> type[BaseSettings] | None:
    module, _, name = path.partition(":")
    try:
        return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]
    except (ImportError, AttributeError):
        return None


def _default(field: Any) -> str:
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    if extra.get("secret"):
        return "secret" + (
            " (required outside development)" if extra.get("required_outside_development") else ""
        )
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    if isinstance(value, Path) and value.is_absolute():
        # Defaults computed from the install location read the same on every checkout.
        root = Path.cwd().resolve()
        value = value.relative_to(root) if value.is_relative_to(root) else Path("<install dir>") / value.name
    text = "" if value is None else str(getattr(value, "value", value))
    return f"`{text}`" if text else "—"


def render() -> str:
    rows: dict[str, dict[str, Any]] = {}
    for service, path in SERVICES:
        cls = _load(path)
        if cls is None:
            continue
        for name, field in cls.model_fields.items():
            var = env_names(name, field)[0]
            if cls.model_config.get("env_prefix") != "TUTOR_" and field.validation_alias is None:
                var = f"{cls.model_config.get('env_prefix', '')}{name}".upper()
            row = rows.setdefault(
                var,
                {
                    "services": [],
                    "default": _default(field),
                    "doc": (field.description or "").replace("|", "\\|"),
                },
            )
            row["services"].append(service)
    lines = ["| variable | used by | default | meaning |", "|---|---|---|---|"]
    for var in sorted(rows):
        row = rows[var]
        lines.append(f"| `{var}` | {', '.join(row['services'])} | {row['default']} | {row['doc']} |")
    return "\n".join(lines)


def update_readme(readme: Path) -> bool:
    text = readme.read_text()
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    new = f"{head}{START}\n{render()}\n{END}{tail}"
    if new == text:
        return False
    readme.write_text(new)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true", help="rewrite README.md in place")
    parser.add_argument("--readme", type=Path, default=Path("README.md"))
    args = parser.parse_args(argv)
    if args.write:
        changed = update_readme(args.readme)
        sys.stdout.write("README updated\n" if changed else "README already current\n")
    else:
        sys.stdout.write(render() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
