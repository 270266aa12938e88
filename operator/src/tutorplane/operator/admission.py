"""Admission rules for TutorDeployments (pure; the kopf webhook handlers call these).

Validation repeats the CRD's CEL rules (for clusters or tools that skip them) and adds what CEL
cannot see: images pinned by tag or digest, secret values pasted inline anywhere in the spec,
and names short enough for every child. Each problem is a sentence saying what is wrong, where,
and what to do. Mutation fills the defaults the schema cannot express.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from .spec import VARIANT_DEFAULTS, parse_spec

MAX_NAME_LENGTH = 40  # the longest child suffix ("-migrate-xxxxxxxx") must still fit 63 characters
NAME_RE = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
DIGEST_RE = re.compile(r"^sha256:[a-f0-9]{64}$")

# Strings that are secrets whatever field they sit in.
SECRET_PATTERNS = (
    (re.compile(r"\bsk-ant-[A-Za-z0-9_\-]{8,}"), "an Anthropic API key"),
    (re.compile(r"\bsk-(proj-)?[A-Za-z0-9_\-]{16,}"), "an OpenAI API key"),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"), "a private key"),
    (re.compile(r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\."), "a JSON Web Token"),
    (re.compile(r"\b(pk|sk)-lf-[A-Za-z0-9\-]{8,}"), "a Langfuse key"),
)
# Keys that must never carry a literal value (chart values and the secrets block).
SECRET_KEY_RE = re.compile(
    r"(password|passwd|secret|token|api[-_]?key|salt|encryption[-_]?key|private[-_]?key|credentials?)$",
    re.IGNORECASE,
)
SECRET_KEY_ALLOWED_SUFFIXES = ("existingsecret", "secretname", "secretref")
URL_FIELDS = (
    ("redis", "url"),
    ("livekit", "url"),
    ("prometheus", "address"),
    ("dependencies", "langfuse", "url"),
)


def image_problem(field: str, image: str) -> str | None:
    """None when ``image`` is pinned by a tag other than latest or by a sha256 digest."""
    if "@" in image:
        digest = image.split("@", 1)[1]
        if DIGEST_RE.match(digest):
            return None
        return f"{field}: digest {digest!r} is not a sha256 digest; use image@sha256:<64 hex characters>"
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return (
            f"{field}: image {image!r} has no tag; pin it to a release tag (e.g. {image}:1.4.2) or a digest"
        )
    tag = last.rsplit(":", 1)[1]
    if tag == "latest":
        return f"{field}: image {image!r} uses :latest, which moves under a running pool; pin a release tag or a digest"
    return None


def _walk(value: Any, path: str) -> Iterator[tuple[str, str, Any]]:
    if isinstance(value, dict):
        for key, sub in value.items():
            yield path, str(key), sub
            yield from _walk(sub, f"{path}.{key}")
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            yield from _walk(sub, f"{path}[{index}]")


def inline_secret_problems(spec: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    for parent, key, value in _walk(spec, "spec"):
        where = f"{parent}.{key}"
        if isinstance(value, str):
            for pattern, what in SECRET_PATTERNS:
                if pattern.search(value):
                    problems.append(
                        f"{where} contains what looks like {what}; store it in a Secret and reference it "
                        f"from spec.secrets (secret values never go into a TutorDeployment)"
                    )
                    break
        in_values = ".values" in parent
        in_secrets = parent.startswith("spec.secrets")
        lowered = key.lower().replace("_", "").replace("-", "")
        if (
            (in_values or in_secrets)
            and isinstance(value, str)
            and value
            and SECRET_KEY_RE.search(key)
            and not lowered.endswith(SECRET_KEY_ALLOWED_SUFFIXES)
        ):
            problems.append(
                f"{where} holds a literal secret; reference an existing Secret instead "
                f"(spec.secrets.* for the services, the chart's existingSecret values for dependencies)"
            )
        if in_secrets and key == "value":
            problems.append(f"{where}: inline secret values are rejected; use {{name, key}} of a Secret")
    for path in URL_FIELDS:
        node: Any = spec
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, str) and "://" in node:
            parts = urlsplit(node)
            if parts.password:
                field = "spec." + ".".join(path)
                problems.append(
                    f"{field} embeds a password in the URL; drop it from the URL and reference a Secret "
                    f"(for Redis: spec.secrets.redis)"
                )
    return problems


def _pydantic_sentences(exc: ValidationError) -> list[str]:
    out: list[str] = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "value_error":
            out.extend(part.strip() for part in msg.split(";"))
        elif err["type"] == "extra_forbidden":
            out.append(
                f"spec.{loc} is not a TutorDeployment field; remove it (see `kubectl explain td.spec`)"
            )
        elif err["type"] == "missing":
            out.append(f"spec.{loc} is required")
        else:
            out.append(f"spec.{loc}: {msg}")
    return out


def validate(obj: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(errors, warnings) for a whole TutorDeployment object."""
    errors: list[str] = []
    warnings: list[str] = []
    meta = obj.get("metadata") or {}
    name = meta.get("name") or ""
    if name and (len(name) > MAX_NAME_LENGTH or not NAME_RE.match(name)):
        errors.append(
            f"metadata.name {name!r} must be a DNS label of at most {MAX_NAME_LENGTH} characters "
            f"(lowercase letters, digits, '-') so every child name fits"
        )
    raw_spec = obj.get("spec") or {}
    errors.extend(inline_secret_problems(raw_spec))
    images = raw_spec.get("images") or {}
    for field in ("agent", "gateway", "guardrail", "migrations"):
        image = images.get(field)
        if isinstance(image, str) and image:
            problem = image_problem(f"spec.images.{field}", image)
            if problem:
                errors.append(problem)
    try:
        spec = parse_spec(raw_spec)
    except ValidationError as exc:
        errors.extend(_pydantic_sentences(exc))
        return errors, warnings
    for variant_name in spec.enabled_variants():
        variant = spec.variants.get(variant_name)
        scaling = variant.autoscaling
        if scaling.enabled and scaling.min_replicas < 2:
            warnings.append(
                f"spec.variants.{variant_name}.autoscaling.minReplicas is 1: a single pod's restart blocks new "
                f"sessions of variant {variant_name}; 2 or more keeps it available"
            )
        if scaling.enabled and variant_name == "A" and spec.prometheus is None:
            warnings.append(
                "spec.prometheus is unset: the agent pool's HPA needs a custom-metrics adapter serving "
                f"{variant.sessions_metric}; with KEDA installed, set spec.prometheus.address instead"
            )
    if (
        spec.rollout is not None
        and spec.rollout.steps
        and spec.rollout.candidate not in spec.enabled_variants()
    ):
        errors.append(
            f"spec.rollout.candidate is {spec.rollout.candidate}, which is disabled; enable it or pick the other variant"
        )
    return errors, warnings


def mutate(obj: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A merge patch of defaults the schema cannot express, with a warning for each change."""
    spec = obj.get("spec") or {}
    patch: dict[str, Any] = {}
    warnings: list[str] = []
    variants = spec.get("variants") or {}
    for name in ("A", "B"):
        variant = variants.get(name) or {}
        cap = variant.get("sessionCapSeconds")
        grace = variant.get("drainGraceSeconds")
        default_grace = VARIANT_DEFAULTS[name]["drainGraceSeconds"]
        if isinstance(cap, int) and (grace is None or (grace == default_grace and grace < cap)):
            patch.setdefault("variants", {}).setdefault(name, {})["drainGraceSeconds"] = cap + 60
            warnings.append(
                f"spec.variants.{name}.drainGraceSeconds set to {cap + 60} (sessionCapSeconds + 60 s) "
                "so draining pods finish their sessions"
            )
    enabled = [
        n for n in ("A", "B") if (variants.get(n) or {}).get("enabled", VARIANT_DEFAULTS[n]["enabled"])
    ]
    if len(enabled) == 1:
        only = enabled[0]
        weight = (variants.get(only) or {}).get("weight", VARIANT_DEFAULTS[only]["weight"])
        if weight == 0:
            patch.setdefault("variants", {}).setdefault(only, {})["weight"] = 100
            warnings.append(f"spec.variants.{only}.weight set to 100: it is the only enabled variant")
    images = spec.get("images") or {}
    if images.get("gateway") and not images.get("migrations"):
        patch.setdefault("images", {})["migrations"] = images["gateway"]
    return ({"spec": patch} if patch else {}), warnings
