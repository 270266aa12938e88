"""One ServiceAccount per component; none of them talks to the Kubernetes API (no token)."""

from __future__ import annotations

from .common import Obj, finalize, metadata
from .context import BuildContext


def service_account(ctx: BuildContext, component: str) -> Obj:
    return finalize(
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": metadata(ctx, ctx.child_name(component), component),
            "automountServiceAccountToken": False,
        }
    )
