"""Check a custom resource the way the API server would: defaulting, OpenAPI schema, CEL rules.

The checks are the operator's own (``tutorplane.operator.schema_check``, which its ``render`` CLI
uses), run here against the CRD manifest as shipped. One deliberate difference: an object schema
with ``properties`` and no ``x-kubernetes-preserve-unknown-fields`` refuses unknown fields here.
The API server would silently drop them, which hides typos in a sample; here they are errors.
"""

from __future__ import annotations

import copy
from typing import Any

from tutorplane.operator.schema_check import SchemaViolation, check_object

Schema = dict[str, Any]


def strict(schema: Schema) -> Schema:
    """A copy where every closed object schema refuses unknown properties."""
    out = copy.deepcopy(schema)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if (
                node.get("type") == "object"
                and "properties" in node
                and "additionalProperties" not in node
                and not node.get("x-kubernetes-preserve-unknown-fields")
            ):
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(out)
    return out


def problems(schema: Schema, obj: dict[str, Any]) -> list[str]:
    """Everything wrong with ``obj`` (empty when the API server would accept it)."""
    try:
        check_object(obj, strict(schema))
    except SchemaViolation as exc:
        return exc.problems
    return []
