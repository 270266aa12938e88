"""charts/*/credentials.yaml declares every Secret key a chart reads, and scripts/dev-secrets.py
generates them in the declared formats, once, consistently across the Secrets that share them."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType

import jwt
import pytest
import yaml
from chartkit import CHARTS_DIR, ROOT

pytestmark = pytest.mark.unit

CHARTS_WITH_CREDENTIALS = ("langfuse", "supabase", "livekit")


@pytest.fixture(scope="module")
def dev_secrets() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dev_secrets", ROOT / "scripts" / "dev-secrets.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("chart", CHARTS_WITH_CREDENTIALS)
def test_every_secret_key_has_a_generator(chart: str) -> None:
    declared = yaml.safe_load((CHARTS_DIR / chart / "credentials.yaml").read_text())["keys"]
    secret_keys = yaml.safe_load((CHARTS_DIR / chart / "values.yaml").read_text())["secretKeys"]
    assert set(declared) == set(secret_keys)


@pytest.mark.parametrize("chart", CHARTS_WITH_CREDENTIALS)
def test_generated_values_fit_their_consumers(dev_secrets: ModuleType, chart: str) -> None:
    spec, _ = dev_secrets.chart_spec(chart)
    values = dev_secrets.generate(spec, now=1_700_000_000)
    assert set(values) == set(spec["keys"])
    for name, value in values.items():
        assert re.fullmatch(r"[A-Za-z0-9._-]+", value), f"{chart}.{name} is not URL/YAML safe: {value!r}"
    if chart == "langfuse":
        assert re.fullmatch(r"[0-9a-f]{64}", values["encryptionKey"])
        assert values["initProjectPublicKey"].startswith("pk-lf-")
        assert values["initProjectSecretKey"].startswith("sk-lf-")
    if chart == "supabase":
        assert len(values["realtimeDbEncKey"]) == 16
        for key, role in (("anonKey", "anon"), ("serviceRoleKey", "service_role")):
            claims = jwt.decode(
                values[key], values["jwtSecret"], algorithms=["HS256"], options={"verify_exp": False}
            )
            assert claims["role"] == role and claims["exp"] - claims["iat"] >= 3600 * 24 * 365


def test_values_are_random(dev_secrets: ModuleType) -> None:
    spec, _ = dev_secrets.chart_spec("supabase")
    assert dev_secrets.generate(spec)["jwtSecret"] != dev_secrets.generate(spec)["jwtSecret"]


def test_bad_specs_are_reported(dev_secrets: ModuleType) -> None:
    with pytest.raises(dev_secrets.SpecError, match="unknown generator"):
        dev_secrets.generate({"keys": {"a": {"base64": 3}}})
    with pytest.raises(dev_secrets.SpecError, match="circular"):
        dev_secrets.generate({"keys": {"a": {"copy": "b"}, "b": {"copy": "a"}}})
    with pytest.raises(dev_secrets.SpecError, match="unknown key"):
        dev_secrets.generate({"keys": {"a": {"copy": "nope"}}})


def _run(
    dev_secrets: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str], *tds: str
) -> dict[str, dict]:
    args = (
        ["--namespace", "school"]
        + [a for td in tds for a in ("--deployment", td)]
        + ["--state-dir", str(tmp_path)]
    )
    assert dev_secrets.main(args) == 0
    return {d["metadata"]["name"]: d for d in yaml.safe_load_all(capsys.readouterr().out)}


def test_dev_secrets_are_stable_and_consistent(
    dev_secrets: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = _run(dev_secrets, tmp_path, capsys, "tutor-ab")
    again = _run(dev_secrets, tmp_path, capsys, "tutor-ab")
    assert first == again, "a second run must print the same Secrets (applying them changes nothing)"
    assert (tmp_path / "school.json").stat().st_mode & 0o077 == 0
    assert set(first) == {
        "tutorplane-livekit-credentials",
        "tutorplane-providers",
        "tutorplane-redis",
        "tutor-ab-supabase-credentials",
        "tutor-ab-supabase-connection",
        "tutor-ab-langfuse-credentials",
        "tutor-ab-langfuse-api-keys",
        "tutor-ab-gateway",
    }
    supabase = first["tutor-ab-supabase-credentials"]["stringData"]
    connection = first["tutor-ab-supabase-connection"]["stringData"]
    assert connection["database-url"] == (
        f"postgresql://tutorplane_app:{supabase['app-password']}@tutor-ab-supabase-postgresql.school.svc:5432/postgres"
    )
    assert first["tutor-ab-gateway"]["stringData"]["jwt-secret"] == supabase["jwt-secret"]
    langfuse = first["tutor-ab-langfuse-credentials"]["stringData"]
    assert first["tutor-ab-langfuse-api-keys"]["stringData"] == {
        "public-key": langfuse["init-project-public-key"],
        "secret-key": langfuse["init-project-secret-key"],
    }
    state = json.loads((tmp_path / "school.json").read_text())
    assert set(state) >= {"supabase:tutor-ab", "langfuse:tutor-ab", "livekit:tutorplane-livekit"}


def test_dev_secrets_match_what_the_samples_reference(
    dev_secrets: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    samples = [yaml.safe_load(p.read_text()) for p in sorted((ROOT / "manifests" / "samples").glob("*.yaml"))]
    printed = _run(dev_secrets, tmp_path, capsys, *[s["metadata"]["name"] for s in samples])
    for sample in samples:
        for ref in sample["spec"]["secrets"].values():
            assert ref["name"] in printed, ref
            key = ref.get("key") or ref.get("apiKeyKey") or ref.get("jwtSecretKey")
            if ref["name"] == "tutorplane-livekit-credentials":
                key = "api-key"
            if key:
                assert key in printed[ref["name"]]["stringData"], (ref["name"], key)
