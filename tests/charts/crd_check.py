"""Check a custom resource the way the API server would: defaulting, OpenAPI schema, CEL rules.

One deliberate difference: an object schema with ``properties`` and no
``x-kubernetes-preserve-unknown-fields`` refuses unknown fields here. The API server would
silently drop them, which hides typos in a sample; here they are errors.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator
from functools import cache
from typing import Any

import celpy
import jsonschema
from celpy import celtypes

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


def apply_defaults(schema: Schema, value: Any) -> Any:
    if isinstance(value, dict) and schema.get("type") == "object":
        out = dict(value)
        for name, sub in schema.get("properties", {}).items():
            if name not in out and "default" in sub:
                out[name] = copy.deepcopy(sub["default"])
            if name in out:
                out[name] = apply_defaults(sub, out[name])
        return out
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [apply_defaults(schema["items"], item) for item in value]
    return value


def _is_sorted(values: celtypes.ListType) -> celtypes.BoolType:
    items: list[Any] = list(values)
    return celtypes.BoolType(all(a <= b for a, b in itertools.pairwise(items)))


@cache
def _program(rule: str) -> Any:
    env = celpy.Environment()
    return env.program(env.compile(rule), functions={"isSorted": _is_sorted})


def _cel(schema: Schema, value: Any, path: str) -> Iterator[str]:
    for rule in schema.get("x-kubernetes-validations", []):
        try:
            result = _program(rule["rule"]).evaluate({"self": celpy.json_to_cel(value)})
        except celpy.CELEvalError as exc:
            result = exc
        if not (isinstance(result, celtypes.BoolType) and bool(result)):
            yield f"{path}: {rule.get('message', rule['rule'])}"
    if isinstance(value, dict):
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                yield from _cel(sub, value[name], f"{path}.{name}")
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            yield from _cel(schema["items"], item, f"{path}[{index}]")


def problems(schema: Schema, obj: dict[str, Any]) -> list[str]:
    """Everything wrong with ``obj`` (empty when the API server would accept it)."""
    defaulted = apply_defaults(schema, obj)
    found = [
        f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
        for e in jsonschema.Draft7Validator(strict(schema)).iter_errors(defaulted)
    ]
    return found or list(_cel(schema, defaulted, "<root>"))
