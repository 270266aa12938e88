"""Validating and mutating admission webhooks for TutorDeployments."""

from __future__ import annotations

from typing import Any

import kopf

from .. import admission


def on_validate(body: Any, warnings: list[str]) -> None:
    errors, notes = admission.validate(dict(body))
    warnings.extend(notes)
    if errors:
        raise kopf.AdmissionError("TutorDeployment rejected: " + " | ".join(errors), code=422)


def on_mutate(body: Any, patch: kopf.Patch, warnings: list[str]) -> None:
    changes, notes = admission.mutate(dict(body))
    warnings.extend(notes)
    for key, value in changes.items():
        patch[key] = value
