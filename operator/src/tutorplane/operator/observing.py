"""What the operator last saw of each child, fed by watch events and by its own write replies.

This is the informer cache of controller-runtime in miniature: reconciles compare against it, so a
resync that finds nothing to change sends no request at all. A miss is never trusted as "absent"
for long: creating meets 409 when the object exists, and the reconciler then reads it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from . import constants as c

Obj = dict[str, Any]
Key = tuple[str, str, str, str]  # apiVersion, kind, namespace, name


def key_of(obj: Obj) -> Key:
    meta = obj.get("metadata", {})
    return (obj.get("apiVersion", ""), obj.get("kind", ""), meta.get("namespace") or "", meta.get("name", ""))


def inventory_entry(key: Key) -> str:
    api_version, kind, _, name = key
    return f"{api_version}/{kind}/{name}"


def parse_inventory_entry(entry: str, namespace: str) -> Key:
    api_version_kind, _, name = entry.rpartition("/")
    api_version, _, kind = api_version_kind.rpartition("/")
    return (api_version, kind, namespace, name)


def _strip(obj: Obj) -> Obj:
    meta = obj.get("metadata")
    if isinstance(meta, dict) and "managedFields" in meta:
        obj = {**obj, "metadata": {k: v for k, v in meta.items() if k != "managedFields"}}
    return obj


@dataclass
class ObservedCache:
    _objects: dict[Key, Obj] = field(default_factory=dict)
    _by_owner: dict[tuple[str, str], set[Key]] = field(default_factory=lambda: defaultdict(set))
    _kinds: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    _versions: dict[Key, int] = field(default_factory=dict)
    _counter: int = 0

    def get(self, key: Key) -> Obj | None:
        return self._objects.get(key)

    def version(self, key: Key) -> int | None:
        """Changes whenever the cached object is replaced (by an event or a write reply)."""
        return self._versions.get(key)

    def put(self, obj: Obj) -> None:
        if not obj or "metadata" not in obj:
            return
        key = key_of(obj)
        if key not in self._objects:
            self._kinds[key[1]] += 1
        self._objects[key] = _strip(obj)
        self._counter += 1
        self._versions[key] = self._counter
        owner = obj["metadata"].get("labels", {}).get(c.LABEL_DEPLOYMENT)
        if owner:
            self._by_owner[(key[2], owner)].add(key)

    def forget(self, key: Key) -> None:
        obj = self._objects.pop(key, None)
        self._versions.pop(key, None)
        if obj is not None:
            self._kinds[key[1]] -= 1
            owner = obj.get("metadata", {}).get("labels", {}).get(c.LABEL_DEPLOYMENT)
            if owner:
                self._by_owner[(key[2], owner)].discard(key)

    def observe(self, event_type: str | None, obj: Obj) -> None:
        """Apply one watch event (kopf passes ``None`` for the initial listing)."""
        if event_type == "DELETED":
            self.forget(key_of(obj))
        else:
            self.put(obj)

    def children_of(self, namespace: str, owner: str) -> list[Obj]:
        return [
            self._objects[k] for k in sorted(self._by_owner.get((namespace, owner), ())) if k in self._objects
        ]

    def __len__(self) -> int:
        return len(self._objects)

    def kinds(self) -> dict[str, int]:
        return dict(self._kinds)
