"""``tutorplane-operator``: render, status, rbac, crd, run.

- ``render -f td.yaml``: every child manifest on stdout (GitOps review); the input is defaulted
  and checked against the CRD schema, its CEL rules and the admission rules first.
- ``status NAME -n NS``: a human summary of a live TutorDeployment (kubeconfig credentials).
- ``rbac``: the least-privilege RBAC for the chosen mode.
- ``crd``: the CustomResourceDefinition.
- ``run``: the operator (kopf), with liveness and metrics endpoints.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

import yaml

from . import constants as c


def _dump(objects: list[dict[str, Any]]) -> str:
    return yaml.safe_dump_all(objects, sort_keys=False, default_flow_style=False, width=120)


# ----------------------------------------------------------------------------- render


def render_documents(
    documents: list[dict[str, Any]],
    keda: bool = False,
    charts_dir: Path | None = None,
    weights: dict[str, int] | None = None,
) -> tuple[list[dict[str, Any]], list[str]]:
    """Render the children of every TutorDeployment in ``documents``; returns (objects, warnings)."""
    from . import admission, dependencies
    from .builders import BuildContext, Owner, build_children
    from .schema_check import check_object
    from .spec import parse_spec

    objects: list[dict[str, Any]] = []
    notes: list[str] = []
    found = False
    for doc in documents:
        if not isinstance(doc, dict) or doc.get("kind") != c.KIND:
            continue
        found = True
        defaulted = check_object(doc)
        errors, warnings = admission.validate(defaulted)
        if errors:
            raise ValueError("\n".join(errors))
        notes.extend(warnings)
        meta = defaulted.get("metadata", {})
        owner = Owner(meta.get("name", "tutor"), meta.get("namespace", "default"), meta.get("uid", ""))
        spec = parse_spec(defaulted["spec"])
        ctx = BuildContext(
            owner=owner,
            spec=spec,
            weights=weights or {},
            keda=keda,
            wiring=dependencies.wiring(spec, owner.name, owner.namespace),
        )
        rendered = build_children(ctx).objects
        if charts_dir is not None and dependencies.managed_charts(spec):
            renderer = dependencies.ChartRenderer(charts_dir)
            for chart in dependencies.managed_charts(spec):
                release = dependencies.release_name(owner.name, chart)
                raw = renderer.render_sync(
                    chart, release, owner.namespace, dependencies.values_for(spec, chart, owner.name)
                )
                rendered += dependencies.adopt_release_objects(ctx, chart, release, raw)
        if not owner.uid:
            # Without the live object's uid an owner reference would point at nothing (and the
            # garbage collector would delete the child): leave ownership to the operator.
            for obj in rendered:
                obj["metadata"].pop("ownerReferences", None)
        objects.extend(rendered)
    if not found:
        raise ValueError(
            f"no {c.KIND} found in the input (expected kind: {c.KIND}, apiVersion: {c.API_VERSION})"
        )
    return objects, notes


def cmd_render(args: argparse.Namespace) -> int:
    from .schema_check import SchemaViolation

    text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text()
    weights = None
    if args.weights:
        weights = {k: int(v) for k, v in (item.split("=", 1) for item in args.weights.split(","))}
    try:
        objects, notes = render_documents(
            list(yaml.safe_load_all(text)),
            keda=args.keda,
            charts_dir=Path(args.charts_dir) if args.charts_dir else None,
            weights=weights,
        )
    except SchemaViolation as exc:
        print("error: the TutorDeployment breaks the CRD schema:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for note in notes:
        print(f"warning: {note}", file=sys.stderr)
    sys.stdout.write(_dump(objects))
    return 0


# ----------------------------------------------------------------------------- status


def summarize(td: dict[str, Any]) -> str:
    meta, status = td.get("metadata", {}), td.get("status") or {}
    lines = [f"{c.KIND} {meta.get('namespace')}/{meta.get('name')}"]
    lines.append(f"  phase:      {status.get('phase', 'Unknown')}")
    gen, seen = meta.get("generation"), status.get("observedGeneration")
    if gen is not None:
        lines.append(f"  generation: {gen} (observed {seen if seen is not None else '-'})")
    weights = status.get("weights") or {}
    lines.append(f"  weights:    A {weights.get('A', '-')}%  B {weights.get('B', '-')}%")
    for name, variant in sorted((status.get("variants") or {}).items()):
        state = "enabled" if variant.get("enabled") else "disabled"
        extra = f"  agent {variant['agentName']}" if variant.get("agentName") else ""
        lines.append(
            f"  variant {name}:  {state}, {variant.get('readyReplicas', 0)}/{variant.get('replicas', 0)} ready, "
            f"revision {variant.get('revision', '-')}{extra}"
        )
    guard = status.get("guardrail") or {}
    lines.append(f"  guardrail:  {guard.get('readyReplicas', 0)}/{guard.get('replicas', 0)} ready")
    rollout = status.get("rollout") or {}
    if rollout:
        lines.append(f"  rollout:    {rollout.get('phase', '-')} {rollout.get('message', '')}".rstrip())
    analysis = status.get("lastAnalysis")
    if analysis:
        numbers = ", ".join(
            f"{key} {analysis[key]}"
            for key in ("sessions", "turnLatencyP95Seconds", "errorRate", "guardrailBlockRate")
            if key in analysis
        )
        lines.append(f"  analysis:   {analysis.get('verdict')} at {analysis.get('at', '-')} ({numbers})")
        for reason in analysis.get("reasons", []):
            lines.append(f"              - {reason}")
    lines.append("  conditions:")
    for cond in status.get("conditions", []) or []:
        lines.append(
            f"    {cond.get('type', ''):<18} {cond.get('status', ''):<7} {cond.get('reason', ''):<20} {cond.get('message', '')}"
        )
    lines.append(f"  children:   {len(status.get('inventory', []))} objects")
    return "\n".join(lines)


async def fetch_status(name: str, namespace: str, server: str | None) -> dict[str, Any]:
    import kopf

    from .apiclient import KubeClient

    conn = (
        kopf.ConnectionInfo(server=server, insecure=True)
        if server
        else kopf.login_with_kubeconfig(settings=kopf.OperatorSettings())
    )
    if conn is None:
        raise RuntimeError("no kubeconfig found: set KUBECONFIG or pass --server")
    client = KubeClient(credentials=lambda: conn)
    try:
        return await client.get(c.API_VERSION, c.KIND, namespace, name)
    finally:
        await client.close()


def cmd_status(args: argparse.Namespace) -> int:
    from .apiclient import ApiError, NotFound

    try:
        td = asyncio.run(fetch_status(args.name, args.namespace, args.server))
    except NotFound:
        print(f"error: {c.KIND} {args.namespace}/{args.name} not found", file=sys.stderr)
        return 1
    except (ApiError, RuntimeError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(summarize(td))
    ready = any(
        cond.get("type") == "Ready" and cond.get("status") == "True"
        for cond in (td.get("status") or {}).get("conditions", [])
    )
    return 0 if ready else 3


# ----------------------------------------------------------------------------- rbac, crd


def cmd_rbac(args: argparse.Namespace) -> int:
    from .rbac import manifests

    sys.stdout.write(
        _dump(
            manifests(
                operator_namespace=args.operator_namespace,
                namespaces=args.namespace or None,
                clusterwide=args.clusterwide,
                keda=not args.no_keda,
                managed_dependencies=not args.no_managed_dependencies,
                webhooks_managed=args.webhooks_managed,
            )
        )
    )
    return 0


def cmd_crd(_: argparse.Namespace) -> int:
    from .crd import crd

    sys.stdout.write(_dump([crd()]))
    return 0


# ----------------------------------------------------------------------------- run


def cmd_run(_: argparse.Namespace) -> int:
    from .running import run

    return run()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="tutorplane-operator", description=__doc__.splitlines()[0] if __doc__ else ""
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("render", help="render every child manifest of a TutorDeployment")
    p.add_argument("-f", "--file", required=True, help="TutorDeployment YAML ('-' for stdin)")
    p.add_argument("--keda", action="store_true", help="render KEDA ScaledObjects instead of HPAs")
    p.add_argument("--charts-dir", help="bundled charts, to render managed dependencies too")
    p.add_argument("--weights", help="weights in force, e.g. A=90,B=10 (default: the spec's targets)")
    p.set_defaults(func=cmd_render)

    p = sub.add_parser("status", help="summarize a live TutorDeployment")
    p.add_argument("name")
    p.add_argument("-n", "--namespace", default="default")
    p.add_argument("--server", help="API server URL (default: from kubeconfig)")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("rbac", help="print least-privilege RBAC for the operator")
    p.add_argument("--operator-namespace", default="tutorplane-system")
    p.add_argument("-n", "--namespace", action="append", help="watched namespace (repeatable)")
    p.add_argument("--clusterwide", action="store_true")
    p.add_argument("--no-keda", action="store_true", help="omit KEDA ScaledObject permissions")
    p.add_argument("--no-managed-dependencies", action="store_true", help="omit the chart-rendered kinds")
    p.add_argument("--webhooks-managed", action="store_true", help="let the operator own its webhook configs")
    p.set_defaults(func=cmd_rbac)

    p = sub.add_parser("crd", help="print the TutorDeployment CRD")
    p.set_defaults(func=cmd_crd)

    p = sub.add_parser("run", help="run the operator")
    p.set_defaults(func=cmd_run)

    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
