"""Connections against a moto server through the real boto3: send, get, delete, broadcast,
endpoint resolution and client caching."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

import pytest
from moto.apigatewaymanagementapi.models import apigatewaymanagementapi_backends

from lambda_runtime import (
    ConfigurationError,
    ConnectionInfo,
    Connections,
    _aws,
    encode_message,
    env,
    management_endpoint,
    parse_event,
)

from .conftest import load_event

ACCOUNT = "123456789012"  # moto's default account


@pytest.fixture
def backend(moto_url: str) -> Iterator[Any]:
    backend = apigatewaymanagementapi_backends[ACCOUNT]["us-east-1"]
    backend.connections.clear()
    yield backend
    backend.connections.clear()


def new_id() -> str:
    return uuid.uuid4().hex[:16] + "="


def stored(backend: Any, connection_id: str) -> bytes:
    """What moto received for a connection (moto keys them by the still-quoted path)."""
    data: bytes = backend.connections[quote(connection_id, safe="")].data
    return data


def test_send_str_bytes_and_json(moto_url: str, backend: Any) -> None:
    # GIVEN a connection client on the moto endpoint
    connections = Connections(moto_url)
    cid = new_id()
    # WHEN str, bytes and a dict are sent
    connections.send(cid, "héllo")
    connections.send(cid, b"\x00\x01")
    connections.send(cid, {"n": 1, "text": "é"})
    # THEN moto received exactly the serialised bytes
    assert stored(backend, cid) == "héllo".encode() + b"\x00\x01" + b'{"n":1,"text":"\xc3\xa9"}'


def test_send_with_action_wraps_data_in_the_backend_message_envelope(
    moto_url: str, backend: Any
) -> None:
    cid = new_id()
    before = datetime.now(timezone.utc)
    Connections(moto_url).send(cid, {"text": "hi"}, action="chat")
    envelope = json.loads(stored(backend, cid))
    assert envelope["action"] == "chat"
    assert envelope["data"] == {"text": "hi"}
    assert envelope["timestamp"].endswith("Z")
    sent_at = datetime.fromisoformat(envelope["timestamp"].replace("Z", "+00:00"))
    assert before.replace(microsecond=before.microsecond // 1000 * 1000) <= sent_at
    assert sent_at <= datetime.now(timezone.utc)


def test_get_returns_connection_info_with_aware_datetimes(moto_url: str, backend: Any) -> None:
    cid = new_id()
    info = Connections(moto_url).get(cid)
    assert isinstance(info, ConnectionInfo)
    assert info.connection_id == cid
    assert info.source_ip == "192.168.0.1"
    assert info.user_agent == "Moto Mocks"
    assert info.connected_at is not None and info.connected_at.tzinfo is timezone.utc
    assert info.last_active_at is not None and info.last_active_at.tzinfo is timezone.utc
    assert "ResponseMetadata" not in info.raw
    assert cid in repr(info)


def test_delete_removes_the_connection(moto_url: str, backend: Any) -> None:
    cid = new_id()
    connections = Connections(moto_url)
    connections.send(cid, "x")
    assert quote(cid, safe="") in backend.connections
    connections.delete(cid)
    assert quote(cid, safe="") not in backend.connections


def test_broadcast_sends_once_to_each_distinct_id(moto_url: str, backend: Any) -> None:
    ids = [new_id() for _ in range(40)]
    result = Connections(moto_url).broadcast([*ids, ids[0]], {"text": "all"}, max_workers=8)
    assert result.sent == ids
    assert result.gone == [] and result.failed == {} and result.ok
    for cid in ids:
        assert stored(backend, cid) == b'{"text":"all"}'


def test_broadcast_client_pool_is_sized_to_the_workers(moto_url: str, backend: Any) -> None:
    connections = Connections(moto_url)
    connections.broadcast([new_id()], "x", max_workers=7)
    client = _aws.client(
        "apigatewaymanagementapi", endpoint_url=moto_url, max_pool_connections=7, no_retries=True
    )
    assert client.meta.config.max_pool_connections == 7
    assert client.meta.config.retries["total_max_attempts"] == 1


def test_broadcast_of_nothing_makes_no_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_aws, "client", lambda *a, **k: pytest.fail("no client needed"))
    result = Connections("https://x.execute-api.us-east-1.amazonaws.com/s").broadcast([], "x")
    assert (result.sent, result.gone, result.failed) == ([], [], {})


def test_client_is_created_once_per_endpoint(moto_url: str) -> None:
    first = Connections(moto_url).client
    assert Connections(moto_url + "/").client is first
    assert Connections(moto_url + "/other").client is not first


def test_given_client_is_used_and_names_the_endpoint(moto_url: str, backend: Any) -> None:
    import boto3

    client = boto3.client("apigatewaymanagementapi", endpoint_url=moto_url)
    connections = Connections(client=client)
    assert connections.client is client
    assert connections.endpoint_url == moto_url
    connections.send("given=", "x")
    assert stored(backend, "given=") == b"x"


def test_region_comes_from_the_execute_api_endpoint() -> None:
    client = Connections("https://abc.execute-api.eu-west-3.amazonaws.com/prod").client
    assert client.meta.region_name == "eu-west-3"
    assert client.meta.endpoint_url == "https://abc.execute-api.eu-west-3.amazonaws.com/prod"


def test_clients_are_created_once_across_threads(moto_url: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    url = f"{moto_url}/threads-{uuid.uuid4().hex}"
    with ThreadPoolExecutor(8) as pool:
        clients = list(pool.map(lambda _: Connections(url).client, range(16)))
    assert all(c is clients[0] for c in clients)


# --- endpoint resolution ----------------------------------------------------------------


def test_endpoint_1_explicit_url_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(env.MANAGEMENT_ENDPOINT, "https://ignored")
    event = load_event("connect.json")
    connections = Connections.for_event(event, endpoint_url="http://127.0.0.1:9/stage/")
    assert connections.endpoint_url == "http://127.0.0.1:9/stage"


def test_endpoint_2_execute_api_domain_and_stage(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(env.MANAGEMENT_ENDPOINT, "https://ignored")
    event = parse_event(load_event("connect.json"))
    assert Connections.for_event(event).endpoint_url == (
        "https://asasasas.execute-api.us-east-1.amazonaws.com/prod"
    )


def test_endpoint_3_custom_domain_uses_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(env.MANAGEMENT_ENDPOINT, "https://ws.example.com/chat/")
    raw = load_event("connect-custom-domain-authorizer.json")
    assert Connections.for_event(raw).endpoint_url == "https://ws.example.com/chat"


def test_endpoint_4_falls_back_on_api_id_and_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    raw = load_event("connect-custom-domain-authorizer.json")
    assert (
        management_endpoint(raw) == "https://q1w2e3r4t5.execute-api.eu-central-1.amazonaws.com/prod"
    )


@pytest.mark.parametrize(
    ("region", "suffix"),
    [
        ("cn-north-1", "amazonaws.com.cn"),
        ("cn-northwest-1", "amazonaws.com.cn"),
        ("us-gov-west-1", "amazonaws.com"),
        ("us-iso-east-1", "c2s.ic.gov"),
        ("us-isob-east-1", "sc2s.sgov.gov"),
        ("ap-southeast-7", "amazonaws.com"),
    ],
)
def test_endpoint_4_uses_the_dns_suffix_of_the_regions_partition(
    monkeypatch: pytest.MonkeyPatch, region: str, suffix: str
) -> None:
    # GIVEN a custom-domain event (no execute-api domain, no variable) in another partition
    monkeypatch.setenv("AWS_REGION", region)
    raw = load_event("connect-custom-domain-authorizer.json")
    # WHEN/THEN the fallback URL is that partition's, and its region is read back from it
    url = management_endpoint(raw)
    assert url == f"https://q1w2e3r4t5.execute-api.{region}.{suffix}/prod"
    assert _aws.region_from_endpoint(url) == region


def test_the_partition_data_read_is_what_botocores_loader_loads() -> None:
    # dns_suffix reads botocore's data file without importing botocore: it must be the data
    # botocore's public Loader gives (on the oldest and the newest botocore allowed)
    from botocore.loaders import Loader

    assert _aws._botocore_partitions() == Loader().load_data("partitions")["partitions"]


def test_dns_suffixes_are_botocores() -> None:
    # the partition data is botocore's own: every partition it knows gets its suffix
    from botocore.loaders import Loader

    for partition in Loader().load_data("partitions")["partitions"]:
        for region in partition.get("regions", {}):
            assert _aws.dns_suffix(region) == partition["outputs"]["dnsSuffix"], region


def test_endpoint_that_cannot_be_resolved_says_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    raw = load_event("connect-custom-domain-authorizer.json")
    with pytest.raises(ConfigurationError, match=env.MANAGEMENT_ENDPOINT):
        Connections.for_event(raw)


def test_environment_is_read_at_call_time(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = load_event("connect-custom-domain-authorizer.json")
    monkeypatch.setenv(env.MANAGEMENT_ENDPOINT, "https://one.example.com")
    assert management_endpoint(raw) == "https://one.example.com"
    monkeypatch.setenv(env.MANAGEMENT_ENDPOINT, "https://two.example.com")
    assert management_endpoint(raw) == "https://two.example.com"


def test_without_an_endpoint_the_variable_is_read_on_each_use(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN a publisher's module-level Connections(), made before the variable is set
    connections = Connections()
    assert repr(connections) == f"Connections(${env.MANAGEMENT_ENDPOINT})"
    # WHEN used while unset, THEN the error names the variable
    with pytest.raises(ConfigurationError, match=env.MANAGEMENT_ENDPOINT):
        connections.send("a=", "x")
    with pytest.raises(ConfigurationError, match=env.MANAGEMENT_ENDPOINT):
        connections.broadcast(["a="], "x")
    # WHEN set, and later changed (as the emulator and tests do), THEN each use follows it
    monkeypatch.setenv(env.MANAGEMENT_ENDPOINT, "http://127.0.0.1:1/dev/")
    assert connections.endpoint_url == "http://127.0.0.1:1/dev"
    assert connections.client.meta.endpoint_url == "http://127.0.0.1:1/dev"
    monkeypatch.setenv(env.MANAGEMENT_ENDPOINT, "http://127.0.0.1:2/other")
    assert connections.client.meta.endpoint_url == "http://127.0.0.1:2/other"


def test_a_publisher_broadcasts_with_no_argument_at_all(
    apigw: Any, monkeypatch: pytest.MonkeyPatch, connection_table: str
) -> None:
    # GIVEN the variables add_publisher sets (endpoint, table): nothing passed in code
    from lambda_runtime import ConnectionStore

    monkeypatch.setenv(env.MANAGEMENT_ENDPOINT, apigw.endpoint_url)
    store = ConnectionStore()
    for cid in ("a=", "b="):
        raw = load_event("connect.json")
        raw["requestContext"]["connectionId"] = cid
        store.put(parse_event(raw))
    apigw.known.add("a=")
    # WHEN broadcasting to the store's ids
    result = Connections().broadcast(store.ids(), "hi", store=store)
    # THEN the live one got it, and the gone one left the table
    assert (result.sent, result.gone) == (["a="], ["b="])
    assert list(store.ids()) == ["a="]


# --- serialisation ----------------------------------------------------------------------


def test_encode_message_rejects_bytes_in_an_envelope() -> None:
    with pytest.raises(TypeError, match="envelope"):
        encode_message(b"x", action="a")


def test_encode_message_rejects_unserialisable_data() -> None:
    with pytest.raises(TypeError):
        encode_message({"x": object()})


def test_encode_message_envelope_with_string_data() -> None:
    envelope = json.loads(encode_message("hi", action="greet"))
    assert envelope["data"] == "hi"
    assert set(envelope) == {"action", "data", "timestamp"}


@pytest.mark.parametrize("bad", ["", None, 5])
def test_connection_id_must_be_a_non_empty_string(bad: Any) -> None:
    connections = Connections("http://127.0.0.1:1/s")
    with pytest.raises(ValueError, match="connection id"):
        connections.send(bad, "x")


@pytest.mark.parametrize(
    ("url", "region"),
    [
        ("https://abc.execute-api.eu-west-3.amazonaws.com/prod", "eu-west-3"),
        ("https://abc.execute-api.cn-north-1.amazonaws.com.cn/prod", "cn-north-1"),
        ("https://abc.execute-api.us-east-1.amazonaws.com:443", "us-east-1"),
        ("https://abc.execute-api.us-iso-east-1.c2s.ic.gov/prod", "us-iso-east-1"),
        ("https://ABC.Execute-Api.EU-West-1.AmazonAWS.com/prod", "eu-west-1"),
        ("https://abc.execute-api.example.com/prod", None),
        ("https://ws.example.com/chat", None),
        ("http://127.0.0.1:4510/local", None),
        (None, None),
    ],
)
def test_region_from_endpoint(url: str | None, region: str | None) -> None:
    assert _aws.region_from_endpoint(url) == region


def test_clear_client_cache_forgets_clients(moto_url: str) -> None:
    first = Connections(moto_url).client
    _aws.clear_client_cache()
    assert Connections(moto_url).client is not first
