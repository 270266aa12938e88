"""Names shared by the CRD, the builders, the handlers and the RBAC generator."""

from __future__ import annotations

GROUP = "tutorplane.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "TutorDeployment"
PLURAL = "tutordeployments"
SINGULAR = "tutordeployment"
SHORT_NAME = "td"

OPERATOR_NAME = "tutorplane-operator"

# Labels on every child. The selector labels of a workload never change after creation
# (Kubernetes rejects selector edits), so they hold only the instance and the component.
LABEL_NAME = "app.kubernetes.io/name"
LABEL_INSTANCE = "app.kubernetes.io/instance"
LABEL_COMPONENT = "app.kubernetes.io/component"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_PART_OF = "app.kubernetes.io/part-of"
LABEL_DEPLOYMENT = f"{GROUP}/deployment"
LABEL_VARIANT = f"{GROUP}/variant"
LABEL_REVISION = f"{GROUP}/revision"

# Hash of the rendered child (without this annotation): who reads a child sees at once which
# rendering of the spec it carries, and the reconciler skips field comparison when it matches.
ANNOTATION_DESIRED_HASH = f"{GROUP}/desired-hash"
# Hash of the settings a pod reads at start; a change rolls the pods.
ANNOTATION_CONFIG_HASH = f"{GROUP}/config-hash"

COMPONENT_AGENT = "agent"
# The English Realtime worker of the agent pool (its own Deployment: the SDK allows one
# rtc_session per process, and the pipeline worker dispatches English rooms to it by name).
COMPONENT_AGENT_ENGLISH = "agent-english"
# Deployments of one agent-pool revision, pipeline first: the pool is ready only when every one of
# them is; each one's new agent name is published once that Deployment runs the new revision.
AGENT_POOL_COMPONENTS = (COMPONENT_AGENT, COMPONENT_AGENT_ENGLISH)
COMPONENT_GATEWAY = "gateway"
COMPONENT_GUARDRAIL = "guardrail"
COMPONENT_MIGRATIONS = "migrations"
COMPONENT_DEPENDENCY = "dependency"

# Ports the services listen on (see the services' settings).
GATEWAY_PORT = 8080
GUARDRAIL_PORT = 8090
AGENT_HEALTH_PORT = 8081

AGENT_SESSIONS_METRIC = "tutorplane_agent_active_sessions"
GATEWAY_SESSIONS_METRIC = "tutorplane_gateway_active_sessions"

# Prometheus multi-process files of the agent's job processes (an emptyDir).
AGENT_METRICS_DIR = "/var/run/tutorplane/metrics"
# Extra seconds the kubelet waits after a worker's drain grace before SIGKILL.
SHUTDOWN_MARGIN_SECONDS = 30

VARIANT_CONFIG_DIR = "/etc/tutorplane/variants"
VARIANT_CONFIG_FILE = "variants.json"

# Non-root identity baked into the project's images.
RUN_AS_USER = 10001
