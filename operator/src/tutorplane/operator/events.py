"""Kubernetes Events on a TutorDeployment (one per condition transition or rollout move)."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from . import constants as c
from .apiclient import ApiError, KubeClient

logger = logging.getLogger(__name__)


def event_body(
    owner: dict[str, Any], reason: str, message: str, warning: bool, now: datetime
) -> dict[str, Any]:
    meta = owner["metadata"]
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "apiVersion": "v1",
        "kind": "Event",
        # Unique names: kmock and real servers alike refuse a second Event with the same name.
        "metadata": {"name": f"{meta['name']}.{uuid.uuid4().hex[:16]}", "namespace": meta["namespace"]},
        "involvedObject": {
            "apiVersion": c.API_VERSION,
            "kind": c.KIND,
            "name": meta["name"],
            "namespace": meta["namespace"],
            **({"uid": meta["uid"]} if meta.get("uid") else {}),
        },
        "reason": reason,
        "message": message[:1024],
        "type": "Warning" if warning else "Normal",
        "source": {"component": c.OPERATOR_NAME},
        "reportingComponent": c.OPERATOR_NAME,
        "reportingInstance": c.OPERATOR_NAME,
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
    }


async def post_event(
    client: KubeClient, owner: dict[str, Any], reason: str, message: str, warning: bool
) -> None:
    """Best effort: an Event that cannot be written never fails a reconcile."""
    try:
        await client.create(event_body(owner, reason, message, warning, datetime.now(UTC)))
    except ApiError as exc:
        logger.warning("could not post event %s on %s: %s", reason, owner["metadata"]["name"], exc)
