"""The LiveKit chart: server + Valkey with a pinned version, or only the connection to an external URL."""

from __future__ import annotations

import pytest
import yaml
from chartkit import containers, env_of, find, one, render_objects, secret_ref

pytestmark = pytest.mark.unit

CHART = "livekit"


def test_server_config_comes_from_env_with_secrets_expanded_by_kubernetes() -> None:
    objs = render_objects(CHART)
    server = containers(one(objs, "Deployment", "tp-livekit"))[0]
    assert server["image"] == "livekit/livekit-server:v1.9.11"
    env = env_of(server)
    config = yaml.safe_load(env["LIVEKIT_CONFIG"]["value"])
    assert config["redis"] == {"address": "tp-livekit-redis:6379", "password": "$(REDIS_PASSWORD)"}
    assert config["rtc"]["udp_port"] == 7882 and config["port"] == 7880
    assert env["LIVEKIT_KEYS"]["value"] == "$(LIVEKIT_API_KEY): $(LIVEKIT_API_SECRET)"
    names = [e["name"] for e in server["env"]]
    # $(VAR) only expands variables defined earlier in the list.
    assert names.index("REDIS_PASSWORD") < names.index("LIVEKIT_CONFIG")
    assert names.index("LIVEKIT_API_SECRET") < names.index("LIVEKIT_KEYS")
    assert secret_ref(env["LIVEKIT_API_SECRET"]) == ("tp-livekit-credentials", "api-secret")


def test_rooms_drain_on_shutdown() -> None:
    deployment = one(render_objects(CHART), "Deployment", "tp-livekit")
    assert deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] >= 600


def test_host_ports_replace_rather_than_surge() -> None:
    deployment = one(
        render_objects(CHART, {"rtc": {"hostPorts": True, "nodeIp": "127.0.0.1"}}), "Deployment", "tp-livekit"
    )
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    ports = {p["name"]: p for p in containers(deployment)[0]["ports"]}
    assert ports["rtc-udp"]["hostPort"] == 7882 and ports["rtc-udp"]["protocol"] == "UDP"
    config = yaml.safe_load(env_of(containers(deployment)[0])["LIVEKIT_CONFIG"]["value"])
    assert config["rtc"]["node_ip"] == "127.0.0.1"


def test_disabled_server_only_points_at_the_external_url() -> None:
    objs = render_objects(CHART, {"server": {"enabled": False}, "externalUrl": "wss://livekit.school.test"})
    assert [o["kind"] for o in objs] == ["ConfigMap"]
    data = objs[0]["data"]
    assert data["url"] == "wss://livekit.school.test" and data["managed"] == "false"


def test_external_redis() -> None:
    objs = render_objects(CHART, {"redis": {"deploy": False, "address": "redis.data.svc:6379"}})
    assert [o["metadata"]["name"] for o in find(objs, "Deployment")] == ["tp-livekit"]
    config = yaml.safe_load(env_of(containers(find(objs, "Deployment")[0])[0])["LIVEKIT_CONFIG"]["value"])
    assert config["redis"]["address"] == "redis.data.svc:6379"


def test_valkey_admits_only_the_server() -> None:
    (policy,) = find(render_objects(CHART), "NetworkPolicy")
    assert (
        policy["spec"]["ingress"][0]["from"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/component"]
        == "server"
    )
