"""Desired vs actual: does the live object carry everything we render, and what patch fixes it.

The comparison is a *subset* test: the API server adds defaults (``protocol: TCP``,
``terminationMessagePath``, ``clusterIP`` …) that the builders never write, so only the fields
we render are compared. Lists are compared element-wise and replaced whole when they differ,
which is what JSON merge patch does with lists. Maps the operator owns outright (a ConfigMap's
``data``) also lose keys the builders no longer render.
"""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]

# Fields the API server refuses to change after creation: never patched.
IMMUTABLE_FIELDS: dict[str, tuple[tuple[str, ...], ...]] = {
    "Job": (("spec",),),
    "PersistentVolumeClaim": (("spec",),),
    "StatefulSet": (
        ("spec", "selector"),
        ("spec", "serviceName"),
        ("spec", "volumeClaimTemplates"),
        ("spec", "podManagementPolicy"),
    ),
    "Deployment": (("spec", "selector"),),
    "PodDisruptionBudget": (),
    "Service": (("spec", "clusterIP"),),
}

# Kinds written once and never patched: chart-rendered Secrets may hold generated passwords,
# and re-rendering must not rotate them (rotating a salt breaks every stored hash).
CREATE_ONLY_KINDS = frozenset({"Secret"})

# Maps whose every key the operator owns: keys it stops rendering are removed.
OWNED_MAPS: tuple[tuple[str, ...], ...] = (("data",), ("stringData",))

# Metadata the operator writes; everything else in metadata belongs to the server or to users.
MANAGED_METADATA = ("labels", "annotations", "ownerReferences")


def is_subset(desired: Any, actual: Any) -> bool:
    if isinstance(desired, dict):
        if not isinstance(actual, dict):
            return False
        return all(key in actual and is_subset(value, actual[key]) for key, value in desired.items())
    if isinstance(desired, list):
        if not isinstance(actual, list) or len(desired) != len(actual):
            return False
        return all(is_subset(d, a) for d, a in zip(desired, actual, strict=True))
    return _scalar_equal(desired, actual)


def _scalar_equal(desired: Any, actual: Any) -> bool:
    if desired == actual:
        return True
    # The server may echo an int-or-string (ports, quantities) in the other form.
    if isinstance(desired, int | str) and isinstance(actual, int | str) and not isinstance(desired, bool):
        return str(desired) == str(actual)
    return False


def _diff(desired: Any, actual: Any, path: tuple[str, ...]) -> Any:
    """Merge-patch fragment turning ``actual`` into a superset of ``desired``; ``None`` if none needed."""
    if isinstance(desired, dict) and isinstance(actual, dict):
        patch: Obj = {}
        for key, value in desired.items():
            if key not in actual:
                patch[key] = value
                continue
            sub = _diff(value, actual[key], (*path, key))
            if sub is not None:
                patch[key] = sub
        if path in OWNED_MAPS:
            for key in actual:
                if key not in desired:
                    patch[key] = None
        return patch or None
    if is_subset(desired, actual):
        return None
    return desired


def _drop(obj: Obj, path: tuple[str, ...]) -> None:
    node: Any = obj
    for key in path[:-1]:
        if not isinstance(node, dict) or key not in node:
            return
        node = node[key]
    if isinstance(node, dict):
        node.pop(path[-1], None)


def comparable(desired: Obj) -> Obj:
    """The part of a rendered object the reconciler keeps in step (no identity, no immutables)."""
    kind = desired.get("kind", "")
    body = {key: value for key, value in desired.items() if key not in ("apiVersion", "kind", "metadata")}
    meta = desired.get("metadata", {})
    body["metadata"] = {key: meta[key] for key in MANAGED_METADATA if key in meta}
    for path in IMMUTABLE_FIELDS.get(kind, ()):
        _drop(body, path)
    return body


def _owner_patch(desired: Obj, actual: Obj) -> list[Obj] | None:
    """Our controller reference must be present; owner references of others are kept."""
    ours = desired.get("metadata", {}).get("ownerReferences")
    if ours is None:
        return None
    present = actual.get("metadata", {}).get("ownerReferences", []) or []
    if all(any(is_subset(ref, live) for live in present) for ref in ours):
        return None
    uids = {ref.get("uid") for ref in ours}
    theirs = [ref for ref in present if not ref.get("controller") and ref.get("uid") not in uids]
    return [*theirs, *ours]


def merge_patch(desired: Obj, actual: Obj) -> Obj:
    """The JSON merge patch to send, or ``{}`` when the live object already matches."""
    if desired.get("kind") in CREATE_ONLY_KINDS:
        return {}
    target = comparable(desired)
    target["metadata"].pop("ownerReferences", None)
    patch: Obj = _diff(target, actual, ()) or {}
    owners = _owner_patch(desired, actual)
    if owners is not None:
        patch.setdefault("metadata", {})["ownerReferences"] = owners
    return patch


def controller_of(obj: Obj) -> Obj | None:
    for ref in obj.get("metadata", {}).get("ownerReferences", []) or []:
        if ref.get("controller"):
            result: Obj = ref
            return result
    return None
