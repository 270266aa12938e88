"""Execute the Tiltfile in a real Starlark interpreter with recording stand-ins for Tilt's builtins.

Tilt itself is not available here; this runs every line of the Tiltfile (syntax, names, control
flow, the values passed to each builtin) and records the calls so tests can check the resource
graph: what is built from which Dockerfile, what waits for what, which files exist.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import starlark
from starlark import BuiltinFunction, from_value, namespace, to_value


class TiltfileFailed(Exception):
    """The Tiltfile called fail()."""


@dataclass
class Call:
    name: str
    args: list[Any]
    kwargs: dict[str, Any]


@dataclass
class TiltRun:
    calls: list[Call] = field(default_factory=list)

    def named(self, name: str) -> list[Call]:
        return [c for c in self.calls if c.name == name]

    def resource_deps(self) -> dict[str, list[str]]:
        """Resource -> the resources it waits for (local_resource and k8s_resource)."""
        out: dict[str, list[str]] = {}
        for call in self.named("local_resource") + self.named("k8s_resource"):
            name = call.kwargs.get("new_name") or call.args[0]
            out[name] = list(call.kwargs.get("resource_deps", []))
        return out


def run_tiltfile(path: Path, args: dict[str, str] | None = None) -> TiltRun:
    run = TiltRun()

    def recorder(name: str, result: Any = None) -> BuiltinFunction:
        def impl(*a: Any, **k: Any) -> Any:
            call = Call(name, [from_value(x) for x in a], {key: from_value(v) for key, v in k.items()})
            run.calls.append(call)
            if callable(result):
                return result(call)
            return result

        return BuiltinFunction(name, impl)

    def fail(*a: Any, **k: Any) -> None:
        raise TiltfileFailed(" ".join(str(from_value(x)) for x in a))

    step = lambda kind: lambda call: to_value({kind: call.args})  # noqa: E731
    parsed = dict(args or {})
    predeclared = {
        "config": namespace(
            "config",
            {
                "define_string": recorder("config.define_string"),
                "define_bool": recorder("config.define_bool"),
                "parse": lambda: to_value(parsed),
            },
        ),
        "allow_k8s_contexts": recorder("allow_k8s_contexts"),
        "update_settings": recorder("update_settings"),
        "local_resource": recorder("local_resource"),
        "docker_build": recorder("docker_build"),
        "k8s_yaml": recorder("k8s_yaml"),
        "k8s_resource": recorder("k8s_resource"),
        "k8s_kind": recorder("k8s_kind"),
        "helm": recorder("helm", lambda call: to_value({"helm": call.args[0], **call.kwargs})),
        "filter_yaml": recorder("filter_yaml", lambda call: to_value(([], call.args[0]))),
        "link": recorder("link", lambda call: to_value({"link": call.args})),
        "sync": recorder("sync", step("sync")),
        "run": recorder("run", step("run")),
        "fall_back_on": recorder("fall_back_on", step("fall_back_on")),
        "fail": BuiltinFunction("fail", fail),
    }
    extensions = {
        "ext://namespace": {"namespace_create": recorder("namespace_create")},
        "ext://restart_process": {"docker_build_with_restart": recorder("docker_build_with_restart")},
    }

    def loader(module: str) -> Any:
        if module not in extensions:
            raise TiltfileFailed(f"unknown extension {module}")
        names = extensions[module]
        source = "\n".join(f"{name} = _{name}" for name in names)
        return starlark.exec_file(source, filename=module, predeclared={f"_{k}": v for k, v in names.items()})

    try:
        starlark.exec_file(path.read_text(), filename=str(path), predeclared=predeclared, loader=loader)
    except starlark.EvalError as exc:
        if isinstance(exc.__cause__, TiltfileFailed):
            raise exc.__cause__ from None
        raise
    return run
