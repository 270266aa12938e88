"""The variant config the operator publishes: weights, revisions and agent names of A and B.

The operator publishes ``{"weights": {"A": 50, "B": 50}, "revisions": {"A": "...", "B": "..."},
"agentNames": {"A": "..."}, "englishAgentNames": {"A": "..."}, "enabled": {"A": true, "B": true}}``
(a ConfigMap mounted as a file). The gateway reads it to assign new sessions; the agent pool reads
the agent names to hand a student over to the revision now in service. The file is re-read when
its mtime changes (checked at most once per ``check_interval_s``); a missing file means the
defaults; a broken file keeps the last good config and logs.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

log = logging.getLogger(__name__)

Variant = Literal["A", "B"]
VARIANTS: tuple[Variant, Variant] = ("A", "B")


class VariantConfigError(ValueError):
    """The published variant config is malformed."""


@dataclass(frozen=True)
class VariantConfig:
    weights: dict[str, int]
    revisions: dict[str, str] = field(default_factory=dict)
    agent_names: dict[str, str] = field(default_factory=dict)
    # The English Realtime worker of each agent-name entry (the pipeline dispatches English to it).
    english_agent_names: dict[str, str] = field(default_factory=dict)
    enabled: dict[str, bool] = field(default_factory=dict)
    unavailable_reason: dict[str, str] = field(default_factory=dict)
    source: str = "defaults"

    def is_enabled(self, variant: str) -> bool:
        return self.enabled.get(variant, True)

    def effective_weights(self) -> dict[str, int]:
        weights: dict[str, int] = {v: (self.weights.get(v, 0) if self.is_enabled(v) else 0) for v in VARIANTS}
        if not any(weights.values()) and self.unavailable_reason:
            # The version that had all the traffic cannot take sessions now (the operator says why):
            # an enabled one weighted 0 takes them rather than nobody.
            weights = {v: (100 if self.is_enabled(v) else 0) for v in VARIANTS}
        return weights


def parse_variant_config(raw: object, source: str) -> VariantConfig:
    if not isinstance(raw, dict):
        raise VariantConfigError(f"{source}: expected a JSON object with 'weights'")
    weights = raw.get("weights")
    if not isinstance(weights, dict) or not weights:
        raise VariantConfigError(f'{source}: \'weights\' must be an object like {{"A": 50, "B": 50}}')
    clean: dict[str, int] = {}
    for key, value in weights.items():
        if key not in VARIANTS:
            raise VariantConfigError(f"{source}: unknown variant {key!r} in weights (use A or B)")
        if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
            raise VariantConfigError(f"{source}: weight of {key} must be a non-negative number")
        clean[key] = int(value)
    if sum(clean.values()) <= 0:
        raise VariantConfigError(f"{source}: weights sum to 0; give at least one variant a weight")

    def str_map(name: str) -> dict[str, str]:
        value = raw.get(name)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise VariantConfigError(f"{source}: '{name}' must be an object keyed by variant")
        return {str(k): str(v) for k, v in value.items()}

    enabled_raw = raw.get("enabled", {})
    if not isinstance(enabled_raw, dict):
        raise VariantConfigError(f"{source}: 'enabled' must be an object keyed by variant")
    return VariantConfig(
        weights=clean,
        revisions=str_map("revisions"),
        agent_names=str_map("agentNames"),
        english_agent_names=str_map("englishAgentNames"),
        enabled={str(k): bool(v) for k, v in enabled_raw.items()},
        unavailable_reason=str_map("unavailableReason"),
        source=source,
    )


class VariantConfigSource:
    """The current config: the published file when present, else the defaults."""

    def __init__(
        self,
        path: Path | None,
        defaults: VariantConfig,
        *,
        check_interval_s: float = 1.0,
        clock: object = time.monotonic,
    ) -> None:
        self._path = path
        self._defaults = defaults
        self._interval = check_interval_s
        self._clock = clock
        self._current = defaults
        self._mtime: float | None = None
        self._checked_at = float("-inf")

    def current(self) -> VariantConfig:
        if self._path is None:
            return self._defaults
        now = self._clock()  # type: ignore[operator]
        if now - self._checked_at >= self._interval:
            self._checked_at = now
            self._reload_if_changed()
        return self._current

    def _reload_if_changed(self) -> None:
        assert self._path is not None
        try:
            mtime = os.stat(self._path).st_mtime_ns
        except FileNotFoundError:
            if self._mtime is not None:
                log.warning(
                    "variant config file disappeared; using defaults", extra={"path": str(self._path)}
                )
            self._mtime = None
            self._current = self._defaults
            return
        if mtime == self._mtime:
            return
        try:
            raw = json.loads(self._path.read_text(encoding="utf-8"))
            config = parse_variant_config(raw, source=self._path.name)
        except (OSError, ValueError) as exc:
            log.error("variant config unreadable; keeping the last good one", extra={"error": str(exc)})
            self._mtime = mtime
            return
        self._mtime = mtime
        self._current = config
        log.info("variant config loaded", extra={"weights": config.weights, "revisions": config.revisions})
