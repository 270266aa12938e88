"""Variant assignment: a sticky hash of the student id against operator-published weights.

The published config itself (its format, parsing and the file watcher) is shared with the agent
pool: :mod:`tutorplane.common.variants`.
"""

from __future__ import annotations

import hashlib

from tutorplane.common.variants import (
    VARIANTS,
    Variant,
    VariantConfig,
    VariantConfigError,
    VariantConfigSource,
    parse_variant_config,
)

__all__ = [
    "BUCKETS",
    "VARIANTS",
    "Variant",
    "VariantConfig",
    "VariantConfigError",
    "VariantConfigSource",
    "assign_variant",
    "bucket_of",
    "parse_variant_config",
]

BUCKETS = 10_000


def bucket_of(student_id: str, salt: str) -> int:
    """Stable bucket 0..9999 of a student (same id + salt -> same bucket, on every replica)."""
    digest = hashlib.sha256(f"{salt}:{student_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def assign_variant(student_id: str, config: VariantConfig, salt: str) -> Variant:
    """Weighted sticky choice. Raises VariantConfigError when every variant is disabled."""
    weights = config.effective_weights()
    total = sum(weights.values())
    if total <= 0:
        raise VariantConfigError("every variant is disabled or weighted 0; no session can be assigned")
    threshold_a = weights["A"] * BUCKETS / total
    return "A" if bucket_of(student_id, salt) < threshold_a else "B"
