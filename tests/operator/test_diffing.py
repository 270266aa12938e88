"""Desired vs actual: server defaults are not drift, real drift gives a minimal merge patch."""

from __future__ import annotations

import copy

import pytest
from tutorplane.operator.diffing import is_subset, merge_patch

pytestmark = pytest.mark.unit

OWNER = {
    "apiVersion": "tutorplane.dev/v1alpha1",
    "kind": "TutorDeployment",
    "name": "t",
    "uid": "u1",
    "controller": True,
    "blockOwnerDeletion": True,
}


def desired() -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "t-gateway",
            "namespace": "ns",
            "labels": {"a": "1"},
            "annotations": {"h": "x"},
            "ownerReferences": [OWNER],
        },
        "spec": {
            "selector": {"matchLabels": {"c": "gateway"}},
            "template": {
                "spec": {
                    "containers": [{"name": "gateway", "image": "g:1", "ports": [{"containerPort": 8080}]}]
                }
            },
        },
    }


def served(obj: dict) -> dict:
    """What an API server returns: the same object plus defaults and bookkeeping."""
    live = copy.deepcopy(obj)
    live["metadata"].update({"uid": "child", "resourceVersion": "7", "generation": 1})
    live["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = "1"
    live["spec"]["replicas"] = 1
    live["spec"]["strategy"] = {"type": "RollingUpdate"}
    container = live["spec"]["template"]["spec"]["containers"][0]
    container["terminationMessagePath"] = "/dev/termination-log"
    container["ports"][0]["protocol"] = "TCP"
    live["status"] = {"readyReplicas": 1}
    return live


def test_server_defaults_are_not_drift() -> None:
    assert merge_patch(desired(), served(desired())) == {}


def test_changed_image_patches_only_the_containers() -> None:
    live = served(desired())
    want = desired()
    want["spec"]["template"]["spec"]["containers"][0]["image"] = "g:2"
    patch = merge_patch(want, live)
    assert patch == {
        "spec": {"template": {"spec": {"containers": want["spec"]["template"]["spec"]["containers"]}}}
    }


def test_drifted_label_is_restored_and_foreign_labels_are_kept() -> None:
    live = served(desired())
    live["metadata"]["labels"] = {"a": "2", "team": "x"}
    assert merge_patch(desired(), live) == {"metadata": {"labels": {"a": "1"}}}


def test_immutable_selector_is_never_patched() -> None:
    live = served(desired())
    live["spec"]["selector"] = {"matchLabels": {"c": "other"}}
    assert merge_patch(desired(), live) == {}


def test_owned_configmap_data_loses_keys_no_longer_rendered() -> None:
    want = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "s"}, "data": {"A": "1"}}
    live = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "s"},
        "data": {"A": "1", "OLD": "x"},
    }
    assert merge_patch(want, live) == {"data": {"OLD": None}}


def test_secrets_and_job_specs_are_create_only() -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"p": "new"}}
    assert merge_patch(secret, {**secret, "stringData": {"p": "old"}}) == {}
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "j", "labels": {"a": "1"}},
        "spec": {"template": {"spec": {"containers": [{"name": "m", "image": "m:2"}]}}},
    }
    live = copy.deepcopy(job)
    live["spec"]["template"]["spec"]["containers"][0]["image"] = "m:1"
    live["metadata"]["labels"] = {}
    assert merge_patch(job, live) == {"metadata": {"labels": {"a": "1"}}}


def test_adoption_adds_our_controller_reference_and_keeps_other_owners() -> None:
    live = served(desired())
    other = {"apiVersion": "v1", "kind": "ConfigMap", "name": "x", "uid": "u9"}
    live["metadata"]["ownerReferences"] = [other]
    patch = merge_patch(desired(), live)
    assert patch == {"metadata": {"ownerReferences": [other, OWNER]}}
    live["metadata"]["ownerReferences"] = [other, OWNER]
    assert merge_patch(desired(), live) == {}


def test_subset_semantics() -> None:
    assert is_subset({"a": [{"x": 1}]}, {"a": [{"x": 1, "y": 2}], "b": 3})
    assert not is_subset({"a": [{"x": 1}]}, {"a": [{"x": 1}, {"x": 2}]})
    assert is_subset({"port": 8080}, {"port": "8080"})
    assert not is_subset({"on": True}, {"on": "True"})
