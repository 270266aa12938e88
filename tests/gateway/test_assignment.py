"""Sticky, weighted A/B assignment and the operator-published variant config."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest
from tutorplane.gateway.services.variants import (
    VariantConfig,
    VariantConfigError,
    VariantConfigSource,
    assign_variant,
    bucket_of,
    parse_variant_config,
)

pytestmark = pytest.mark.unit

SALT = "tutorplane-ab-1"
IDS = [str(uuid.UUID(int=(i * 0x9E3779B97F4A7C15) % (1 << 128), version=4)) for i in range(10_000)]


@pytest.mark.parametrize("weight_a", [0, 10, 25, 50, 70, 90, 100])
def test_weights_hold_within_two_percent_over_ten_thousand_ids(weight_a: int) -> None:
    config = VariantConfig(weights={"A": weight_a, "B": 100 - weight_a})
    share_a = sum(assign_variant(i, config, SALT) == "A" for i in IDS) / len(IDS)
    assert abs(share_a - weight_a / 100) <= 0.02


def test_assignment_is_sticky_and_moves_only_the_needed_students() -> None:
    at_50 = VariantConfig(weights={"A": 50, "B": 50})
    first = [assign_variant(i, at_50, SALT) for i in IDS]
    assert first == [assign_variant(i, at_50, SALT) for i in IDS]
    # Ramping A from 50 to 60 moves only B students to A (a bucket threshold, not a re-shuffle).
    at_60 = VariantConfig(weights={"A": 60, "B": 40})
    second = [assign_variant(i, at_60, SALT) for i in IDS]
    assert all(before == "B" for before, after in zip(first, second, strict=True) if before != after)
    moved = sum(b != a for a, b in zip(first, second, strict=True)) / len(IDS)
    assert 0.08 <= moved <= 0.12


def test_salt_reshuffles_buckets() -> None:
    assert bucket_of(IDS[0], SALT) == bucket_of(IDS[0], SALT)
    different = sum(bucket_of(i, SALT) != bucket_of(i, "other-salt") for i in IDS[:200])
    assert different > 190


def test_disabled_variant_gets_no_new_students() -> None:
    config = VariantConfig(weights={"A": 50, "B": 50}, enabled={"A": False})
    assert {assign_variant(i, config, SALT) for i in IDS[:500]} == {"B"}
    with pytest.raises(VariantConfigError, match="every variant"):
        assign_variant(IDS[0], VariantConfig(weights={"A": 0, "B": 0}), SALT)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([], "JSON object"),
        ({"weights": {}}, "'weights' must be"),
        ({"weights": {"C": 10}}, "unknown variant 'C'"),
        ({"weights": {"A": -1, "B": 10}}, "non-negative"),
        ({"weights": {"A": 0, "B": 0}}, "sum to 0"),
        ({"weights": {"A": 1}, "enabled": []}, "'enabled' must be"),
    ],
)
def test_malformed_config_is_rejected_with_a_reason(raw: object, message: str) -> None:
    with pytest.raises(VariantConfigError, match=message):
        parse_variant_config(raw, "variants.json")


def test_config_file_is_reread_when_it_changes_and_bad_edits_keep_the_last_good(tmp_path: Path) -> None:
    path = tmp_path / "variants.json"
    now = [0.0]
    source = VariantConfigSource(
        path, VariantConfig(weights={"A": 50, "B": 50}), check_interval_s=1.0, clock=lambda: now[0]
    )
    assert source.current().source == "defaults"

    path.write_text(json.dumps({"weights": {"A": 10, "B": 90}, "agentNames": {"A": "pool-a-r2"}}))
    now[0] += 1.0
    config = source.current()
    assert config.weights == {"A": 10, "B": 90}
    assert config.agent_names == {"A": "pool-a-r2"}

    path.write_text("{not json")
    os.utime(path, ns=(1, 10**18))  # a different mtime even within the filesystem's resolution
    now[0] += 1.0
    assert source.current().weights == {"A": 10, "B": 90}

    path.unlink()
    now[0] += 1.0
    assert source.current().source == "defaults"


def test_config_is_not_restatted_within_the_interval(tmp_path: Path) -> None:
    path = tmp_path / "variants.json"
    path.write_text(json.dumps({"weights": {"A": 100}}))
    now = [0.0]
    source = VariantConfigSource(
        path, VariantConfig(weights={"B": 1}), check_interval_s=5.0, clock=lambda: now[0]
    )
    assert source.current().weights == {"A": 100}
    path.write_text(json.dumps({"weights": {"B": 100}}))
    now[0] += 1.0
    assert source.current().weights == {"A": 100}
    now[0] += 5.0
    assert source.current().weights == {"B": 100}


def test_an_unavailable_version_hands_its_sessions_to_an_enabled_one_weighted_zero() -> None:
    down = VariantConfig(
        weights={"A": 100, "B": 0},
        enabled={"A": False, "B": True},
        unavailable_reason={"A": "no agent worker is ready"},
    )
    assert {assign_variant(str(uuid.uuid4()), down, "salt") for _ in range(50)} == {"B"}
    # Switched off on purpose (no reason published): a weight of 0 stays 0.
    off = VariantConfig(weights={"A": 100, "B": 0}, enabled={"A": False, "B": True})
    with pytest.raises(VariantConfigError, match="every variant is disabled or weighted 0"):
        assign_variant(str(uuid.uuid4()), off, "salt")
