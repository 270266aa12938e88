"""PodDisruptionBudgets: node drains evict at most one pod of a pool at a time."""

from __future__ import annotations

from .common import Obj, finalize, metadata, selector_labels
from .context import BuildContext


def pdb(ctx: BuildContext, component: str) -> Obj:
    return finalize(
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": metadata(ctx, ctx.child_name(component), component),
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector_labels(ctx, component)}},
        }
    )
