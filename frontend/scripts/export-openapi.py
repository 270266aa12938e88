"""Write the gateway's OpenAPI schema to frontend/openapi.json (the typed client is generated from it).

Run from the repository root with the project's virtualenv:

    .venv/bin/python frontend/scripts/export-openapi.py          # rewrite openapi.json
    .venv/bin/python frontend/scripts/export-openapi.py --check  # exit 1 when it is out of date

The schema is built from the app object alone (no database, no network): development settings with
fixed, non-secret values, so the output is the same on every machine.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

OUTPUT = Path(__file__).resolve().parent.parent / "openapi.json"


def build_schema() -> dict[str, Any]:
    from tutorplane.common.settings import Environment
    from tutorplane.gateway.app import create_app
    from tutorplane.gateway.core.config import GatewaySettings

    settings = GatewaySettings(
        environment=Environment.development,
        revision="schema",
        deployment="tutorplane",
        frontend_dist_dir=None,
    )
    schema: dict[str, Any] = create_app(settings).openapi()
    return schema


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report whether openapi.json is current")
    args = parser.parse_args(argv)
    text = render(build_schema())
    if args.check:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
        if current != text:
            sys.stderr.write(
                "frontend/openapi.json is out of date with the gateway: run "
                "`.venv/bin/python frontend/scripts/export-openapi.py` then `npm run gen:api` in frontend/\n"
            )
            return 1
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    sys.stdout.write(f"wrote {OUTPUT.name} ({len(json.loads(text).get('paths', {}))} paths)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
