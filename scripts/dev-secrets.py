#!/usr/bin/env python3
"""Print the Secrets of a local Tutorplane cluster as YAML, generated once and then reused.

    scripts/dev-secrets.py --namespace tutorplane --deployment tutor-ab | kubectl apply -f -

Each chart declares the credentials it reads in ``charts/<chart>/credentials.yaml``; this script
follows those declarations, so the charts never generate secrets themselves. Generated values
are kept in ``.local/dev-secrets/<namespace>.json``: running it again prints the same Secrets
(re-applying them changes nothing). Delete that file to start over with new values.

Per TutorDeployment ``<td>`` it prints the managed releases' Secrets (``<td>-supabase-*``,
``<td>-langfuse-*``) and ``<td>-gateway`` (the gateway's JWT secret equals Supabase's); once per
namespace the LiveKit release's Secret, ``tutorplane-providers`` (model API keys from
OPENAI_API_KEY / ANTHROPIC_API_KEY, else values that make provider calls fail loudly) and
``tutorplane-redis`` (URL of the dev Redis).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
from pathlib import Path
from typing import Any

import yaml
from tutorplane.operator.credentials import CredentialsError as SpecError
from tutorplane.operator.credentials import generate as generate_keys

ROOT = Path(__file__).resolve().parent.parent
CHARTS = ROOT / "charts"


def generate(spec: dict[str, Any], now: int | None = None) -> dict[str, str]:
    """Values for every key of a chart's credentials spec (the operator's generator: one mechanism for
    the values a managed release gets in a cluster and the ones this script prints for a dev cluster)."""
    return generate_keys(spec["keys"], now)


def chart_spec(chart: str) -> tuple[dict[str, Any], dict[str, str]]:
    """(credentials spec, values.secretKeys) of a chart."""
    spec = yaml.safe_load((CHARTS / chart / "credentials.yaml").read_text())
    secret_keys = yaml.safe_load((CHARTS / chart / "values.yaml").read_text())["secretKeys"]
    return spec, secret_keys


def secret(name: str, namespace: str, data: dict[str, str], labels: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "type": "Opaque",
        "stringData": dict(sorted(data.items())),
    }


def chart_secrets(chart: str, release: str, namespace: str, values: dict[str, str]) -> list[dict[str, Any]]:
    """The credentials Secret and the consumer Secrets of one release, from generated values."""
    spec, secret_keys = chart_spec(chart)
    labels = {"app.kubernetes.io/part-of": "tutorplane", "app.kubernetes.io/instance": release}
    fields = {"release": release, "namespace": namespace, **values}
    out = [
        secret(
            spec["secret"].format(**fields),
            namespace,
            {secret_keys[name]: value for name, value in values.items()},
            labels,
        )
    ]
    for consumer in spec.get("consumers", []):
        data = {key: template.format(**fields) for key, template in consumer["data"].items()}
        out.append(secret(consumer["name"].format(**fields), namespace, data, labels))
    return out


def load_state(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.exists() else {}


def state_for(state: dict[str, Any], key: str, chart: str) -> dict[str, str]:
    """Generated values of one release, created on first use and reused afterwards."""
    spec, _ = chart_spec(chart)
    current = state.get(key)
    if current is None or set(current) != set(spec["keys"]):
        current = generate(spec)
        state[key] = current
    return dict(current)


def build(
    namespace: str, deployments: list[str], state: dict[str, Any], env: dict[str, str]
) -> list[dict[str, Any]]:
    platform = {"app.kubernetes.io/part-of": "tutorplane"}
    out: list[dict[str, Any]] = []
    livekit = state_for(state, "livekit:tutorplane-livekit", "livekit")
    out += chart_secrets("livekit", "tutorplane-livekit", namespace, livekit)
    out.append(
        secret(
            "tutorplane-providers",
            namespace,
            {
                # Without real keys the services start, and every model call fails with an
                # authentication error that names the key.
                "openai-api-key": env.get("OPENAI_API_KEY") or "sk-unset-local-cluster",
                "anthropic-api-key": env.get("ANTHROPIC_API_KEY") or "sk-ant-unset-local-cluster",
            },
            platform,
        )
    )
    redis = state.setdefault("redis", {"password": secrets.token_hex(24)})
    out.append(
        secret(
            "tutorplane-redis",
            namespace,
            {
                "password": redis["password"],
                "url": f"redis://:{redis['password']}@redis.{namespace}.svc:6379/0",
            },
            platform,
        )
    )
    for td in deployments:
        supabase = state_for(state, f"supabase:{td}", "supabase")
        out += chart_secrets("supabase", f"{td}-supabase", namespace, supabase)
        out += chart_secrets(
            "langfuse", f"{td}-langfuse", namespace, state_for(state, f"langfuse:{td}", "langfuse")
        )
        gateway = state.setdefault(f"gateway:{td}", {"csrf-secret": secrets.token_hex(32)})
        out.append(
            secret(
                f"{td}-gateway",
                namespace,
                {"jwt-secret": supabase["jwtSecret"], "csrf-secret": gateway["csrf-secret"]},
                {**platform, "app.kubernetes.io/instance": td},
            )
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--namespace", default="tutorplane")
    parser.add_argument("--deployment", action="append", default=[], help="TutorDeployment name (repeatable)")
    parser.add_argument("--state-dir", type=Path, default=ROOT / ".local" / "dev-secrets")
    args = parser.parse_args(argv)
    state_path = args.state_dir / f"{args.namespace}.json"
    state = load_state(state_path)
    try:
        documents = build(args.namespace, args.deployment, state, dict(os.environ))
    except SpecError as exc:
        sys.stderr.write(f"dev-secrets: bad charts/*/credentials.yaml: {exc}\n")
        return 2
    args.state_dir.mkdir(parents=True, exist_ok=True)
    state_path.write_text(json.dumps(state, indent=2, sort_keys=True))
    state_path.chmod(0o600)
    yaml.safe_dump_all(documents, sys.stdout, sort_keys=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
