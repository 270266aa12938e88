"""The TutorDeployment CustomResourceDefinition, generated from one place.

``manifests/crds/tutordeployments.yaml`` is this function's output (``tutorplane-operator crd``);
a test keeps the file and the function equal. Defaults come from :mod:`.spec` so the API server
and the pydantic models agree. CEL rules (``x-kubernetes-validations``) repeat the cross-field
rules of :func:`.spec.cross_field_problems` so a bad object is refused even without the webhook.
"""

from __future__ import annotations

import copy
from typing import Any

from . import constants as c
from .spec import VARIANT_DEFAULTS, Guardrail, Models, Voices

Schema = dict[str, Any]


def _str(description: str = "", default: str | None = None, **extra: Any) -> Schema:
    out: Schema = {"type": "string"}
    if description:
        out["description"] = description
    if default is not None:
        out["default"] = default
    out.update(extra)
    return out


def _int(description: str, minimum: int, maximum: int, default: int | None = None) -> Schema:
    out: Schema = {"type": "integer", "description": description, "minimum": minimum, "maximum": maximum}
    if default is not None:
        out["default"] = default
    return out


def _num(
    description: str, minimum: float, maximum: float | None = None, default: float | None = None
) -> Schema:
    out: Schema = {"type": "number", "description": description, "minimum": minimum}
    if maximum is not None:
        out["maximum"] = maximum
    if default is not None:
        out["default"] = default
    return out


def _bool(description: str, default: bool) -> Schema:
    return {"type": "boolean", "description": description, "default": default}


def _obj(
    description: str, properties: dict[str, Schema], required: list[str] | None = None, default: Any = None
) -> Schema:
    out: Schema = {"type": "object", "description": description, "properties": properties}
    if required:
        out["required"] = required
    if default is not None:
        out["default"] = default
    return out


NAME_253: dict[str, Any] = {"minLength": 1, "maxLength": 253}


def _secret_key_ref(description: str) -> Schema:
    return _obj(
        description,
        {
            "name": _str("Secret name in this namespace.", **NAME_253),
            "key": _str("Key inside the Secret.", **NAME_253),
        },
        required=["name", "key"],
    )


def _resources(defaults: dict[str, Any]) -> Schema:
    def quantities(desc: str) -> Schema:
        return _obj(
            desc,
            {
                "cpu": _str("CPU quantity, e.g. 500m or 2.", pattern=r"^[0-9]+(\.[0-9]+)?m?$"),
                "memory": _str(
                    "Memory quantity, e.g. 512Mi or 4Gi.",
                    pattern=r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$",
                ),
            },
        )

    return _obj(
        "Container resources.",
        {"requests": quantities("Requested resources."), "limits": quantities("Resource limits.")},
        default=defaults,
    )


def _variant(name: str) -> Schema:
    d = VARIANT_DEFAULTS[name]
    role = "the LiveKit agent pool (version A)" if name == "A" else "the FastAPI gateway (version B)"
    autoscaling = _obj(
        "Autoscaling on active sessions per pod (KEDA when installed, else HPA autoscaling/v2).",
        {
            "enabled": _bool("Scale on active sessions; when false, `replicas` is fixed.", True),
            "minReplicas": _int("Lower bound of pods.", 1, 1000, 1),
            "maxReplicas": _int("Upper bound of pods.", 1, 1000, 10),
            "targetActiveSessionsPerPod": _int(
                "Average active sessions per pod the autoscaler aims for.",
                1,
                1000,
                d["autoscaling"]["targetActiveSessionsPerPod"],
            ),
            "scaleUpStabilizationSeconds": _int("Scale-up stabilization window.", 0, 3600, 30),
            "scaleDownStabilizationSeconds": _int(
                "Scale-down stabilization window; long, because pods drain sessions.", 0, 3600, 600
            ),
        },
        default={},
    )
    autoscaling["x-kubernetes-validations"] = [
        {"rule": "self.minReplicas <= self.maxReplicas", "message": "minReplicas must not exceed maxReplicas"}
    ]
    schema = _obj(
        f"Variant {name}: {role}.",
        {
            "enabled": _bool("Whether this variant takes sessions.", d["enabled"]),
            "weight": _int("Percent of new sessions (enabled variants sum to 100).", 0, 100, d["weight"]),
            "replicas": _int("Pods when autoscaling is disabled.", 0, 1000, d["replicas"]),
            "autoscaling": autoscaling,
            "resources": _resources(d["resources"]),
            "sessionCapSeconds": _int("Longest session a pod may hold.", 60, 14400, d["sessionCapSeconds"]),
            "drainGraceSeconds": _int(
                "Termination grace of a pod; at least sessionCapSeconds.", 60, 14400, d["drainGraceSeconds"]
            ),
            "drainSettleSeconds": _int(
                "After SIGTERM, how long a pod still takes new work before it drains: the time the "
                "cluster needs to stop sending it any (the ingress for the gateway; for the agent pool, "
                "the kubelet's refresh of the published agent names, which new sessions and handoffs "
                "are dispatched to). Added to the pod's termination grace.",
                0,
                600,
                d["drainSettleSeconds"],
            ),
            "sessionsMetric": _str(
                "Per-pod gauge of active sessions the autoscaler reads.",
                d["sessionsMetric"],
                pattern=r"^[a-zA-Z_:][a-zA-Z0-9_:]*$",
            ),
            "env": {
                "type": "array",
                "description": "Extra plain (non-secret) environment variables.",
                "maxItems": 32,
                "items": _obj(
                    "One variable.",
                    {
                        "name": _str(
                            "Name.", minLength=1, maxLength=128, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$"
                        ),
                        "value": _str("Value.", maxLength=4096),
                    },
                    required=["name", "value"],
                ),
            },
        },
        default={},
    )
    schema["x-kubernetes-validations"] = [
        {"rule": "self.enabled || self.weight == 0", "message": "a disabled variant must have weight 0"},
        {
            "rule": "self.drainGraceSeconds >= self.sessionCapSeconds",
            "message": "drainGraceSeconds must be >= sessionCapSeconds so a scale-down never cuts a session",
        },
    ]
    return schema


def spec_schema() -> Schema:
    models = Models()
    voices = Voices()
    guardrail = Guardrail()
    images = _obj(
        "Container images, pinned by tag or digest (never :latest).",
        {
            "agent": _str("Agent pool image (version A).", minLength=1, maxLength=512),
            "gateway": _str("Gateway image (version B and front door).", minLength=1, maxLength=512),
            "guardrail": _str("Guardrail service image.", minLength=1, maxLength=512),
            "migrations": _str("Database migration Job image; defaults to the gateway image.", maxLength=512),
            "pullPolicy": _str(
                "Image pull policy.", "IfNotPresent", enum=["Always", "IfNotPresent", "Never"]
            ),
            "pullSecrets": {
                "type": "array",
                "description": "Names of image pull Secrets.",
                "maxItems": 8,
                "items": _str(**NAME_253),
            },
        },
        required=["agent", "gateway", "guardrail"],
    )
    secrets = _obj(
        "References to Secrets in this namespace. Secret values never appear in a TutorDeployment.",
        {
            "openai": _secret_key_ref("OpenAI API key."),
            "anthropic": _secret_key_ref("Anthropic API key."),
            "livekit": _obj(
                "LiveKit API key and secret (required for variant A).",
                {
                    "name": _str("Secret name.", **NAME_253),
                    "apiKeyKey": _str("Key of the API key.", "api-key"),
                    "apiSecretKey": _str("Key of the API secret.", "api-secret"),
                },
                required=["name"],
            ),
            "database": _secret_key_ref("PostgreSQL URL (required unless Supabase is managed)."),
            "redis": _secret_key_ref("Redis URL with credentials (overrides spec.redis.url)."),
            "langfuse": _obj(
                "Langfuse public and secret key (external Langfuse).",
                {
                    "name": _str("Secret name.", **NAME_253),
                    "publicKeyKey": _str("Key of the public key.", "public-key"),
                    "secretKeyKey": _str("Key of the secret key.", "secret-key"),
                },
                required=["name"],
            ),
            "gateway": _obj(
                "Gateway signing secrets.",
                {
                    "name": _str("Secret name.", **NAME_253),
                    "jwtSecretKey": _str("Key of the JWT signing secret.", "jwt-secret"),
                    "csrfSecretKey": _str("Key of the CSRF secret.", "csrf-secret"),
                },
                required=["name"],
            ),
        },
        required=["openai", "anthropic"],
    )
    rollout = _obj(
        "Progressive rollout: the candidate's weight moves step by step to its target in spec.variants.",
        {
            "candidate": _str("Variant whose weight the steps set.", "B", enum=["A", "B"]),
            "steps": {
                "type": "array",
                "description": "Candidate weights in increasing order, each held at least pauseSeconds.",
                "maxItems": 20,
                "items": _obj(
                    "One step.",
                    {
                        "weight": _int("Candidate weight at this step.", 1, 100),
                        "pauseSeconds": _int("Minimum time at this step before it can pass.", 0, 86400, 60),
                    },
                    required=["weight"],
                ),
            },
            "analysisIntervalSeconds": _int("How often the step is analysed.", 1, 3600, 60),
            "analysisWindowSeconds": _int("Range of the PromQL rate windows.", 10, 86400, 300),
            "minSessionsPerStep": _int(
                "Fewer sessions than this make the verdict inconclusive.", 1, 1_000_000, 20
            ),
            "thresholds": _obj(
                "A breach of any threshold fails the step.",
                {
                    "turnLatencyP95Seconds": _num("Maximum p95 turn latency.", 0.001, None, 2.5),
                    "errorRate": _num("Maximum share of sessions with an error.", 0, 1, 0.05),
                    "guardrailBlockRate": _num("Maximum share of sentences blocked.", 0, 1, 0.1),
                },
                default={},
            ),
            "queries": _obj(
                "PromQL overrides ({namespace}, {deployment}, {variant}, {window} are substituted).",
                {
                    "sessions": _str("Sessions started in the window."),
                    "turnLatencyP95": _str("p95 turn latency in seconds."),
                    "errorRate": _str("Error rate in [0, 1]."),
                    "guardrailBlockRate": _str("Guardrail block rate in [0, 1]."),
                },
                default={},
            ),
        },
    )
    rollout["properties"]["steps"]["x-kubernetes-validations"] = [
        {
            "rule": "size(self) < 2 || self.map(s, s.weight).isSorted()",
            "message": "step weights must not decrease",
        }
    ]
    dependencies = _obj(
        "Langfuse and Supabase, installed by the operator from its bundled charts or given as external.",
        {
            "langfuse": _obj(
                "Langfuse (traces).",
                {
                    "mode": _str(
                        "managed, external or disabled.", "disabled", enum=["managed", "external", "disabled"]
                    ),
                    "url": _str("Base URL of an external Langfuse.", maxLength=2048),
                    "values": {
                        "type": "object",
                        "description": "Helm values for the managed chart (no secret values: use existing Secrets).",
                        "x-kubernetes-preserve-unknown-fields": True,
                    },
                },
                default={},
            ),
            "supabase": _obj(
                "Supabase PostgreSQL (data).",
                {
                    "mode": _str(
                        "managed, external or disabled.", "external", enum=["managed", "external", "disabled"]
                    ),
                    "values": {
                        "type": "object",
                        "description": "Helm values for the managed chart (no secret values: use existing Secrets).",
                        "x-kubernetes-preserve-unknown-fields": True,
                    },
                },
                default={},
            ),
        },
        default={},
    )
    dependencies["properties"]["langfuse"]["x-kubernetes-validations"] = [
        {"rule": "self.mode != 'external' || has(self.url)", "message": "external Langfuse needs url"}
    ]
    props: dict[str, Schema] = {
        "images": images,
        "secrets": secrets,
        "models": _obj(
            "Model ids.",
            {name: _str(f"{name} model id.", getattr(models, name)) for name in Models.model_fields},
            default={},
        ),
        "voices": _obj(
            "TTS voices.",
            {name: _str(f"{name} voice.", getattr(voices, name)) for name in Voices.model_fields},
            default={},
        ),
        "variants": _obj(
            "Version A (agent pool) and version B (gateway).",
            {"A": _variant("A"), "B": _variant("B")},
            default={},
        ),
        "guardrail": _obj(
            "The shared guardrail service.",
            {
                "replicas": _int("Guardrail pods.", 1, 100, guardrail.replicas),
                "drainSettleSeconds": _int(
                    "After SIGTERM, how long a pod still answers checks while the Service stops sending "
                    "it any (a refused check fails closed for the student's audio). Added to the pod's "
                    "termination grace.",
                    0,
                    600,
                    guardrail.drain_settle_seconds,
                ),
                "failMode": _str(
                    "closed: student input is blocked while moderation is unavailable; open: it passes "
                    "(the answer is still checked). Tutor output of severe categories always fails closed.",
                    "closed",
                    enum=["closed", "open"],
                ),
                "thresholds": {
                    "type": "object",
                    "description": "Per-category score thresholds in [0, 1].",
                    "maxProperties": 32,
                    "additionalProperties": {"type": "number", "minimum": 0, "maximum": 1},
                },
                "resources": _resources(guardrail.resources.model_dump(by_alias=True, exclude_none=True)),
            },
            default={},
        ),
        "routing": _obj(
            "Subject routing.",
            {
                "strategy": _str(
                    "two-stage (rules then classifier) or llm-tools.",
                    "two-stage",
                    enum=["two-stage", "llm-tools"],
                )
            },
            default={},
        ),
        "livekit": _obj(
            "LiveKit server (variant A).",
            {
                "url": _str(
                    "wss:// URL the agent workers and the gateway use (usually in-cluster).",
                    minLength=1,
                    maxLength=2048,
                ),
                "publicUrl": _str(
                    "wss:// URL the browser joins rooms at (unset: url).", minLength=1, maxLength=2048
                ),
            },
            required=["url"],
        ),
        "redis": _obj(
            "Redis shared by gateway replicas.",
            {"url": _str("redis:// URL without credentials (use secrets.redis).", "redis://redis:6379/0")},
            default={},
        ),
        "prometheus": _obj(
            "Prometheus HTTP API for rollout analysis, KEDA and status.",
            {
                "address": _str(
                    "Base URL, e.g. http://prometheus.monitoring:9090.", minLength=1, maxLength=2048
                ),
                "timeoutSeconds": _num("Query timeout.", 0.1, 60, 5),
            },
            required=["address"],
        ),
        "rollout": rollout,
        "ingress": _obj(
            "Ingress to the gateway (web app and API).",
            {
                "enabled": _bool("Create an Ingress.", False),
                "host": _str("Host name.", maxLength=253),
                "className": _str("IngressClass.", maxLength=253),
                "tlsSecretName": _str("TLS Secret for the host.", maxLength=253),
                "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
            },
            default={},
        ),
        "dependencies": dependencies,
        "migrations": _obj(
            "Database migration Job.", {"enabled": _bool("Run migrations.", True)}, default={}
        ),
        "networkPolicies": _obj(
            "NetworkPolicies for the components.",
            {
                "enabled": _bool("Create NetworkPolicies.", True),
                "monitoringNamespace": _str("Namespace allowed to scrape metrics.", "monitoring"),
                "ingressNamespace": _str("Namespace of the ingress controller (unset: any)."),
            },
            default={},
        ),
    }
    # Cross-field rules: the same as spec.cross_field_problems; messages a platform engineer can act on.
    rules = [
        {
            "rule": "self.variants.A.enabled || self.variants.B.enabled",
            "message": "enable at least one variant (A or B)",
        },
        {
            "rule": "(self.variants.A.enabled ? self.variants.A.weight : 0) + "
            "(self.variants.B.enabled ? self.variants.B.weight : 0) == 100",
            "message": "weights of enabled variants must sum to 100",
        },
        {
            "rule": "!self.variants.A.enabled || (has(self.livekit) && has(self.secrets.livekit))",
            "message": "variant A needs spec.livekit.url and spec.secrets.livekit",
        },
        {
            "rule": "self.dependencies.supabase.mode == 'managed' || has(self.secrets.database)",
            "message": "reference the database URL Secret in spec.secrets.database, or set dependencies.supabase.mode: managed",
        },
        {
            "rule": "self.dependencies.langfuse.mode != 'external' || has(self.secrets.langfuse)",
            "message": "external Langfuse needs spec.secrets.langfuse",
        },
        {
            "rule": "!self.ingress.enabled || has(self.ingress.host)",
            "message": "an enabled ingress needs spec.ingress.host",
        },
        {
            "rule": "!has(self.rollout) || !has(self.rollout.steps) || size(self.rollout.steps) == 0 || has(self.prometheus)",
            "message": "a rollout with steps needs spec.prometheus.address",
        },
    ]
    return {
        "type": "object",
        "description": "Desired state of one tutoring platform deployment.",
        "properties": props,
        "required": ["images", "secrets"],
        "x-kubernetes-validations": rules,
    }


def crd() -> dict[str, Any]:
    printer_columns = [
        {"name": "Ready", "type": "string", "jsonPath": '.status.conditions[?(@.type=="Ready")].status'},
        {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
        {"name": "A%", "type": "integer", "jsonPath": ".status.weights.A"},
        {"name": "B%", "type": "integer", "jsonPath": ".status.weights.B"},
        {"name": "Sessions", "type": "integer", "jsonPath": ".status.activeSessions"},
        {"name": "A-Replicas", "type": "integer", "jsonPath": ".status.variants.A.readyReplicas"},
        {"name": "B-Replicas", "type": "integer", "jsonPath": ".status.variants.B.readyReplicas"},
        {"name": "Last-Analysis", "type": "string", "jsonPath": ".status.lastAnalysis.verdict"},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    ]
    status_schema = {
        "type": "object",
        "description": "Observed state, written by the operator.",
        "x-kubernetes-preserve-unknown-fields": True,
        "properties": {
            "observedGeneration": {"type": "integer"},
            "phase": {"type": "string"},
            "activeSessions": {"type": "integer"},
            "weights": {"type": "object", "additionalProperties": {"type": "integer"}},
            "conditions": {
                "type": "array",
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["type"],
                "items": {
                    "type": "object",
                    "required": ["type", "status"],
                    "properties": {
                        "type": {"type": "string"},
                        "status": {"type": "string", "enum": ["True", "False", "Unknown"]},
                        "reason": {"type": "string"},
                        "message": {"type": "string"},
                        "lastTransitionTime": {"type": "string", "format": "date-time"},
                        "observedGeneration": {"type": "integer"},
                    },
                },
            },
        },
    }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{c.PLURAL}.{c.GROUP}", "labels": {c.LABEL_PART_OF: "tutorplane"}},
        "spec": {
            "group": c.GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": c.KIND,
                "plural": c.PLURAL,
                "singular": c.SINGULAR,
                "shortNames": [c.SHORT_NAME],
                "categories": ["tutorplane"],
            },
            "versions": [
                {
                    "name": c.VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": printer_columns,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "description": "TutorDeployment: agent pools, gateway, guardrail, autoscaling and rollout.",
                            "properties": {
                                "apiVersion": {"type": "string"},
                                "kind": {"type": "string"},
                                "metadata": {"type": "object"},
                                "spec": spec_schema(),
                                "status": status_schema,
                            },
                            "required": ["spec"],
                        }
                    },
                }
            ],
        },
    }


def openapi_schema() -> Schema:
    return copy.deepcopy(crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"])
