"""What a builder needs besides the spec: the owner, the live rollout weights, cluster facts."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from ..constants import API_VERSION, KIND
from ..hashing import stable_hash
from ..spec import LangfuseSecretRef, SecretKeyRef, TutorDeploymentSpec


@dataclass(frozen=True)
class Owner:
    """The TutorDeployment the children belong to."""

    name: str
    namespace: str
    uid: str

    def reference(self) -> dict[str, object]:
        return {
            "apiVersion": API_VERSION,
            "kind": KIND,
            "name": self.name,
            "uid": self.uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }


@dataclass(frozen=True)
class Wiring:
    """Where the services find their dependencies (external refs or the managed releases' outputs)."""

    database: SecretKeyRef | None = None
    langfuse_url: str | None = None
    langfuse: LangfuseSecretRef | None = None


@dataclass(frozen=True)
class BuildContext:
    owner: Owner
    spec: TutorDeploymentSpec
    # Weights the gateway publishes now: the rollout's current step, not necessarily the spec's target.
    weights: dict[str, int] = field(default_factory=dict)
    # KEDA's ScaledObject CRD is served: autoscale with KEDA instead of a bare HPA.
    keda: bool = False
    wiring: Wiring = field(default_factory=Wiring)
    # Pool revision whose agent name new sessions (and hand-backs from English) are dispatched to,
    # and the one whose English worker English questions go to. None: the revision rendered now.
    # The reconciler holds each at the previous revision until that worker's Deployment runs the
    # new one and is ready, so nothing is dispatched to an agent name no worker has registered yet.
    published_revision: str | None = None
    published_english_revision: str | None = None
    # Why version A cannot take new sessions now (no pipeline worker is ready), or None. Published
    # to the gateway, which then sends every new session to B instead of into a room no agent joins.
    pool_unavailable: str | None = None

    @cached_property
    def spec_hash(self) -> str:
        return stable_hash(self.spec.model_dump(mode="json", by_alias=True))

    def child_name(self, suffix: str) -> str:
        return f"{self.owner.name}-{suffix}"

    def current_weights(self) -> dict[str, int]:
        return dict(self.weights) if self.weights else self.spec.target_weights()
