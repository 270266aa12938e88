"""The tutor-operator chart: CRDs, least-privilege RBAC (Role per namespace or ClusterRole), two
replicas with kopf peering, webhook certificate modes, monitoring gated on the Prometheus operator."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from chartkit import (
    CERT_MANAGER_APIS,
    PROMETHEUS_OPERATOR_APIS,
    containers,
    env_of,
    find,
    one,
    render,
    render_objects,
)

pytestmark = pytest.mark.unit

CHART = "tutor-operator"
NS = "tutorplane-system"
WORKLOAD_RESOURCES = {
    "deployments",
    "services",
    "configmaps",
    "jobs",
    "horizontalpodautoscalers",
    "poddisruptionbudgets",
    "ingresses",
    "networkpolicies",
    "serviceaccounts",
}


def objs_for(values: dict[str, Any] | None = None, apis: tuple[str, ...] = ()) -> list[dict]:
    return render_objects(CHART, values or {}, namespace=NS, api_versions=apis)


def rules(role: dict) -> list[dict]:
    return list(role.get("rules", []))


def granted(role: dict) -> set[tuple[str, str, str]]:
    return {
        (group, resource, verb)
        for rule in rules(role)
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


def test_deployment_runs_two_peering_replicas() -> None:
    objs = objs_for()
    deployment = one(objs, "Deployment", "tp-tutor-operator")
    assert deployment["spec"]["replicas"] == 2
    container = containers(deployment)[0]
    assert container["image"] == "tutorplane/operator:0.1.0"
    assert "command" not in container  # the image's entrypoint (Tilt's restart wrapper relies on it)
    env = env_of(container)
    assert env["TUTOR_OPERATOR_STANDALONE"]["value"] == "false"
    assert env["TUTOR_OPERATOR_PEERING_NAME"]["value"] == "tutorplane"
    assert "TUTOR_OPERATOR_PEERING_PRIORITY" not in env
    assert env["TUTOR_OPERATOR_NAMESPACES"]["value"] == '["tutorplane-system"]'
    assert env["TUTOR_OPERATOR_CHARTS_DIR"]["value"] == "/opt/tutorplane/charts"
    assert env["TUTOR_OPERATOR_OWN_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"
    (peering,) = find(objs, "KopfPeering")
    assert (peering["metadata"]["name"], peering["metadata"]["namespace"]) == ("tutorplane", NS)
    pdb = one(objs, "PodDisruptionBudget")
    assert pdb["spec"]["minAvailable"] == 1
    anti = deployment["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
    assert (
        anti["preferredDuringSchedulingIgnoredDuringExecution"][0]["podAffinityTerm"]["topologyKey"]
        == "kubernetes.io/hostname"
    )


def test_ports_and_probes() -> None:
    objs = objs_for()
    container = containers(one(objs, "Deployment"))[0]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"health": 8080, "metrics": 9090, "webhook": 9443}
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "health"}
    services = {s["metadata"]["name"]: s["spec"]["ports"][0] for s in find(objs, "Service")}
    assert services["tp-tutor-operator-metrics"]["port"] == 9090
    assert services["tp-tutor-operator-webhook"]["port"] == 9443
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_a_fixed_peering_priority_is_refused_for_several_replicas() -> None:
    # One priority for every replica would pause them all (kopf pauses on equal priorities).
    import helm_python as helm

    with pytest.raises(helm.HelmRenderError, match=r"leave peering\.priority unset"):
        objs_for({"peering": {"priority": 5}})
    objs = objs_for({"replicaCount": 1, "peering": {"priority": 5}})
    env = env_of(containers(one(objs, "Deployment"))[0])
    assert env["TUTOR_OPERATOR_PEERING_PRIORITY"]["value"] == "5"


def test_single_replica_is_standalone_without_peering() -> None:
    objs = objs_for({"replicaCount": 1})
    assert find(objs, "KopfPeering") == [] and find(objs, "PodDisruptionBudget") == []
    assert env_of(containers(one(objs, "Deployment"))[0])["TUTOR_OPERATOR_STANDALONE"]["value"] == "true"


def test_namespaced_mode_grants_workloads_only_through_roles() -> None:
    objs = objs_for({"watch": {"clusterwide": False, "namespaces": ["school-a", "school-b"]}})
    for cluster_role in find(objs, "ClusterRole"):
        resources = {r for _, r, _ in granted(cluster_role)}
        assert not resources & (WORKLOAD_RESOURCES | {"secrets", "tutordeployments"}), cluster_role[
            "metadata"
        ]["name"]
    roles = {(r["metadata"]["namespace"], r["metadata"]["name"]) for r in find(objs, "Role")}
    assert {("school-a", "tp-tutor-operator"), ("school-b", "tp-tutor-operator")} <= roles
    for binding in find(objs, "RoleBinding"):
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": "tp-tutor-operator", "namespace": NS}
        ]
    assert {p["metadata"]["namespace"] for p in find(objs, "KopfPeering")} == {"school-a", "school-b"}
    env = env_of(containers(one(objs, "Deployment"))[0])
    assert json.loads(env["TUTOR_OPERATOR_NAMESPACES"]["value"]) == ["school-a", "school-b"]


def test_clusterwide_mode_uses_a_cluster_role_and_cluster_peering() -> None:
    objs = objs_for({"watch": {"clusterwide": True, "namespaces": []}})
    cluster_role = one(objs, "ClusterRole", "tp-tutor-operator")
    assert ("apps", "deployments", "patch") in granted(cluster_role)
    assert ("kopf.dev", "clusterkopfpeerings", "patch") in granted(cluster_role)
    assert ("apiextensions.k8s.io", "customresourcedefinitions", "watch") in granted(cluster_role)
    assert find(objs, "ClusterKopfPeering") and not find(objs, "KopfPeering") and not find(objs, "Role")
    assert "TUTOR_OPERATOR_NAMESPACES" not in env_of(containers(one(objs, "Deployment"))[0])


@pytest.mark.parametrize("values", [{}, {"watch": {"clusterwide": True, "namespaces": []}}])
def test_rbac_has_no_wildcards_and_never_rewrites_secrets(values: dict) -> None:
    objs = objs_for(values)
    for role in find(objs, "Role") + find(objs, "ClusterRole"):
        for group, resource, verb in granted(role):
            assert "*" not in (group, resource, verb), role["metadata"]["name"]
            if resource == "secrets":
                assert verb in {"create", "delete"}, "Secrets are written once and never read or updated"
            assert resource not in {
                "pods/exec",
                "roles",
                "rolebindings",
                "clusterroles",
                "clusterrolebindings",
            }


def test_without_managed_dependencies_no_secret_is_touched() -> None:
    objs = objs_for({"rbac": {"managedDependencies": False, "keda": False}})
    role = one(objs, "Role", "tp-tutor-operator")
    assert not {r for _, r, _ in granted(role)} & {
        "secrets",
        "statefulsets",
        "persistentvolumeclaims",
        "scaledobjects",
    }


def test_namespaced_mode_has_nothing_cluster_wide() -> None:
    objs = objs_for()
    assert find(objs, "ClusterRole") == [] and find(objs, "ClusterRoleBinding") == []


def test_generated_webhook_certificate_is_trusted_by_the_configurations() -> None:
    objs = objs_for()
    secret = one(objs, "Secret", "tp-tutor-operator-webhook-tls")
    assert secret["type"] == "kubernetes.io/tls"
    for kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
        (hook,) = one(objs, kind)["webhooks"]
        assert hook["clientConfig"]["caBundle"] == secret["data"]["ca.crt"]
    pod = one(objs, "Deployment")["spec"]["template"]["spec"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == "webhook-tls"]
    assert volume["secret"]["secretName"] == "tp-tutor-operator-webhook-tls"
    env = env_of(pod["containers"][0])
    assert env["TUTOR_OPERATOR_WEBHOOK_CERT_DIR"]["value"] == "/etc/tutorplane/webhook-tls"
    assert env["TUTOR_OPERATOR_WEBHOOK_HOST"]["value"] == f"tp-tutor-operator-webhook.{NS}.svc"
    assert env["TUTOR_OPERATOR_WEBHOOKS_MANAGED"]["value"] == "false"
    assert find(objs, "ClusterRole") == []


@pytest.mark.skipif(shutil.which("openssl") is None, reason="the openssl command is not installed")
def test_generated_certificate_verifies_for_the_service_name(tmp_path: Path) -> None:
    secret = one(objs_for(), "Secret", "tp-tutor-operator-webhook-tls")
    for key, name in (("ca.crt", "ca.pem"), ("tls.crt", "cert.pem")):
        (tmp_path / name).write_bytes(base64.b64decode(secret["data"][key]))
    host = f"tp-tutor-operator-webhook.{NS}.svc"
    verify = subprocess.run(
        [
            "openssl",
            "verify",
            "-CAfile",
            str(tmp_path / "ca.pem"),
            "-verify_hostname",
            host,
            str(tmp_path / "cert.pem"),
        ],
        capture_output=True,
        text=True,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_disabled_webhooks_turn_the_server_off() -> None:
    objs = objs_for({"webhook": {"enabled": False}})
    assert not {"Secret", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"} & {
        o["kind"] for o in objs
    }
    env = env_of(containers(one(objs, "Deployment"))[0])
    assert env["TUTOR_OPERATOR_WEBHOOK_PORT"]["value"] == "0"
    assert "TUTOR_OPERATOR_WEBHOOK_HOST" not in env


def test_cert_manager_mode_wires_certificate_secret_and_ca_injection() -> None:
    objs = objs_for({"webhook": {"certManager": {"enabled": True}}}, CERT_MANAGER_APIS)
    certificate = one(objs, "Certificate")
    assert certificate["spec"]["issuerRef"]["name"] == one(objs, "Issuer")["metadata"]["name"]
    assert f"tp-tutor-operator-webhook.{NS}.svc" in certificate["spec"]["dnsNames"]
    for kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
        config = one(objs, kind)
        assert (
            config["metadata"]["annotations"]["cert-manager.io/inject-ca-from"]
            == f"{NS}/{certificate['metadata']['name']}"
        )
        (hook,) = config["webhooks"]
        assert hook["clientConfig"]["service"]["name"] == "tp-tutor-operator-webhook"
        assert hook["rules"][0]["resources"] == ["tutordeployments"]
        assert hook["sideEffects"] == "None" and hook["failurePolicy"] == "Fail"
    pod = one(objs, "Deployment")["spec"]["template"]["spec"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == "webhook-tls"]
    assert volume["secret"]["secretName"] == certificate["spec"]["secretName"]
    env = env_of(pod["containers"][0])
    assert env["TUTOR_OPERATOR_WEBHOOK_CERT_DIR"]["value"] == "/etc/tutorplane/webhook-tls"
    assert find(objs, "ClusterRole") == [] and find(objs, "Secret") == []


def test_existing_secret_mode_needs_and_uses_the_ca_bundle() -> None:
    objs = objs_for({"webhook": {"tls": {"existingSecret": "op-tls", "caBundle": "QUJD"}}})
    hooks = [
        one(objs, k)["webhooks"][0]
        for k in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration")
    ]
    assert [h["clientConfig"]["caBundle"] for h in hooks] == ["QUJD", "QUJD"]
    # The kopf handler ids of the operator's admission handlers.
    assert [h["clientConfig"]["service"]["path"] for h in hooks] == ["/validate", "/mutate"]
    assert find(objs, "Secret") == []
    assert hooks[0]["namespaceSelector"]["matchExpressions"][0]["values"] == [NS]


def test_monitoring_objects_exist_only_with_the_prometheus_operator() -> None:
    kinds = {"ServiceMonitor", "PodMonitor", "PrometheusRule"}
    assert not {o["kind"] for o in objs_for()} & kinds
    objs = objs_for(apis=PROMETHEUS_OPERATOR_APIS)
    assert kinds <= {o["kind"] for o in objs}
    monitor = one(objs, "ServiceMonitor")
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"
    platform = one(objs, "PodMonitor")
    assert platform["spec"]["selector"]["matchLabels"] == {
        "app.kubernetes.io/managed-by": "tutorplane-operator"
    }
    targets = {r["targetLabel"] for e in platform["spec"]["podMetricsEndpoints"] for r in e["relabelings"]}
    assert {"deployment", "variant"} <= targets  # the labels the rollout analysis and the alerts group by


def test_alerts_cover_latency_errors_guardrail_blocks_and_saturation() -> None:
    rule = one(objs_for(apis=PROMETHEUS_OPERATOR_APIS), "PrometheusRule")
    alerts = {r["alert"]: r for g in rule["spec"]["groups"] for r in g["rules"]}
    assert {
        "TutorplaneTurnLatencyHigh",
        "TutorplaneSessionErrorRateHigh",
        "TutorplaneGuardrailBlockRateHigh",
        "TutorplaneAgentPoolSaturated",
        "TutorplaneGuardrailUnavailable",
        "TutorplaneAuditRowsLost",
        "TutorplaneOperatorDown",
    } <= set(alerts)
    lost = alerts["TutorplaneAuditRowsLost"]["expr"]
    assert "tutorplane_audit_write_failures_total" in lost and "tutorplane_audit_dropped_total" in lost
    unavailable = alerts["TutorplaneGuardrailUnavailable"]
    assert "tutorplane_guardrail_client_errors_total" in unavailable["expr"]
    assert " or " in unavailable["expr"]  # still a ratio when no check has succeeded since a restart
    assert unavailable["labels"]["severity"] == "critical"
    assert "tutorplane_turn_latency_seconds_bucket" in alerts["TutorplaneTurnLatencyHigh"]["expr"]
    assert (
        'tutorplane_guardrail_decisions_total{action="block"}'
        in alerts["TutorplaneGuardrailBlockRateHigh"]["expr"]
    )
    # Ratios only alert on a minimum number of sessions: a quiet classroom is not an outage.
    assert ">= 10" in alerts["TutorplaneSessionErrorRateHigh"]["expr"]
    for alert in alerts.values():
        assert alert["expr"].count("(") == alert["expr"].count(")"), alert["alert"]
        assert alert["labels"]["severity"] in {"warning", "critical"}
        assert alert["annotations"]["summary"] and alert["annotations"]["description"]
    for name in (
        "TutorplaneTurnLatencyHigh",
        "TutorplaneSessionErrorRateHigh",
        "TutorplaneAgentPoolSaturated",
    ):
        assert "{{ $labels.deployment }}" in alerts[name]["annotations"]["description"]


def test_alert_thresholds_and_metric_names_come_from_values() -> None:
    values = {
        "monitoring": {
            "metrics": {"turnLatencyHistogram": "lat_seconds"},
            "alerts": {"turnLatencyP95Seconds": 1.5},
        }
    }
    rule = one(objs_for(values, PROMETHEUS_OPERATOR_APIS), "PrometheusRule")
    latency = rule["spec"]["groups"][0]["rules"][0]
    assert "lat_seconds_bucket" in latency["expr"] and latency["expr"].rstrip().endswith("> 1.5")


def test_grafana_dashboard_is_valid_json_with_the_configured_metrics() -> None:
    config = one(objs_for(), "ConfigMap", "tp-tutor-operator-dashboard")
    assert config["metadata"]["labels"]["grafana_dashboard"] == "1"
    dashboard = json.loads(config["data"]["tutorplane.json"])
    exprs = " ".join(t["expr"] for p in dashboard["panels"] for t in p["targets"])
    assert "__METRIC_" not in config["data"]["tutorplane.json"]
    for metric in (
        "tutorplane_turn_latency_seconds_bucket",
        "tutorplane_session_errors_total",
        "tutorplane_guardrail_decisions_total",
        "tutorplane_agent_worker_load_ratio",
    ):
        assert metric in exprs
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])


def test_notes_say_when_monitoring_was_skipped() -> None:
    text = next(v for k, v in render(CHART, {}, namespace=NS).items() if k.endswith("NOTES.txt"))
    assert "Prometheus operator's CRDs were not found" in text
    text = next(
        v
        for k, v in render(CHART, {}, namespace=NS, api_versions=PROMETHEUS_OPERATOR_APIS).items()
        if k.endswith("NOTES.txt")
    )
    assert "were not found" not in text
