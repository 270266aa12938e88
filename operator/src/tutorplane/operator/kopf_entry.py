"""Entry module for ``kopf run -m tutorplane.operator.kopf_entry`` (and kopf's KopfRunner).

Installs the handlers into kopf's default registry with settings from the environment; the
``tutorplane-operator run`` command is the production entry point and does the same with KEDA
detection, metrics and peering flags.
"""

from __future__ import annotations

import kopf

from .handlers.registry import build_registry
from .runtime import Runtime
from .settings import OperatorSettings

runtime = Runtime.create(OperatorSettings())
build_registry(runtime, registry=kopf.get_default_registry())
