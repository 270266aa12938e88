"""Stable short hashes of JSON-like data (canonical JSON, SHA-256)."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def stable_hash(data: Any, length: int = 10) -> str:
    """Hex digest prefix; 10 hex chars (40 bits) keep names short and collisions negligible per owner."""
    return hashlib.sha256(canonical_json(data).encode()).hexdigest()[:length]
