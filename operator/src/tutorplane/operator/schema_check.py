"""Offline checks of a TutorDeployment against the CRD's own schema, as the API server does them.

Three steps, in the API server's order: structural defaulting, OpenAPI schema validation, then
the CEL rules (``x-kubernetes-validations``) evaluated with cel-python. Used by the ``render`` CLI
(a GitOps reviewer sees the same errors ``kubectl apply`` would give) and by the tests that keep
the CRD's rules and the pydantic rules in step.
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

from .crd import openapi_schema

Schema = dict[str, Any]


class SchemaViolation(ValueError):
    """The object breaks the CRD schema; ``problems`` lists each with its field path."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def apply_defaults(schema: Schema, value: Any) -> Any:
    """Structural defaulting: fill missing properties that have a ``default``, recursively."""
    if isinstance(value, dict) and schema.get("type") == "object":
        props: dict[str, Schema] = schema.get("properties", {})
        out = dict(value)
        for name, sub in props.items():
            if name not in out and "default" in sub:
                out[name] = copy.deepcopy(sub["default"])
            if name in out:
                out[name] = apply_defaults(sub, out[name])
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for name in out:
                if name not in props:
                    out[name] = apply_defaults(extra, out[name])
        return out
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [apply_defaults(schema["items"], item) for item in value]
    return value


def _path(parts: Any) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text.lstrip(".") or "<root>"


def _is_sorted(values: celtypes.ListType) -> celtypes.BoolType:
    items: list[Any] = list(values)
    return celtypes.BoolType(all(a <= b for a, b in itertools.pairwise(items)))


@cache
def _program(rule: str) -> Any:
    env = celpy.Environment()
    return env.program(env.compile(rule), functions={"isSorted": _is_sorted})


def _cel_violations(schema: Schema, value: Any, path: str) -> Iterator[str]:
    for rule in schema.get("x-kubernetes-validations", []):
        try:
            result = _program(rule["rule"]).evaluate({"self": celpy.json_to_cel(value)})
        except celpy.CELEvalError as exc:  # a missing optional field counts as a failed rule
            result = exc
        if result is not True and not (isinstance(result, celtypes.BoolType) and bool(result)):
            yield f"{path}: {rule.get('message', rule['rule'])}"
    if isinstance(value, dict) and schema.get("type") == "object":
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                yield from _cel_violations(sub, value[name], f"{path}.{name}")
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            yield from _cel_violations(schema["items"], item, f"{path}[{index}]")


def check_object(obj: dict[str, Any], schema: Schema | None = None) -> dict[str, Any]:
    """Default and validate a whole TutorDeployment; return the defaulted object or raise."""
    schema = schema if schema is not None else _schema()
    defaulted: dict[str, Any] = apply_defaults(schema, obj)
    validator = jsonschema.Draft7Validator(schema)
    problems = [
        f"{_path(error.absolute_path)}: {error.message}"
        for error in sorted(validator.iter_errors(defaulted), key=lambda e: list(map(str, e.absolute_path)))
    ]
    if not problems and "spec" in defaulted:
        problems = list(_cel_violations(schema["properties"]["spec"], defaulted["spec"], "spec"))
    if problems:
        raise SchemaViolation(problems)
    return defaulted


@cache
def _schema() -> Schema:
    return openapi_schema()
