"""ConnectionStore against a moto DynamoDB server through the real boto3."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest

from lambda_runtime import (
    ConfigurationError,
    ConnectionStore,
    ConnectionStoreError,
    env,
    parse_event,
)

from .conftest import load_event


def connect_event(connection_id: str = "conn-1=", **ctx: Any) -> dict[str, Any]:
    raw = load_event("connect-custom-domain-authorizer.json")
    raw["requestContext"]["connectionId"] = connection_id
    raw["requestContext"].update(ctx)
    return raw


def test_put_writes_the_contract_schema(connection_table: str, dynamodb: Any) -> None:
    # GIVEN a $connect event that went through a Lambda authorizer
    raw = connect_event()
    before = int(time.time())
    # WHEN it is stored with extra attributes
    item = ConnectionStore().put(parse_event(raw), userName="ada", score=1.5)
    # THEN the raw DynamoDB item follows docs/contracts.md
    stored = dynamodb.get_item(TableName=connection_table, Key={"connectionId": {"S": "conn-1="}})
    assert stored["Item"] == {
        "connectionId": {"S": "conn-1="},
        "connectedAt": {"N": "1740993302123"},
        "sourceIp": {"S": "198.51.100.7"},
        "principalId": {"S": "user-42"},
        "expiresAt": {"N": str(item["expiresAt"])},
        "userName": {"S": "ada"},
        "score": {"N": "1.5"},
    }
    assert before + 7200 <= item["expiresAt"] <= int(time.time()) + 7200


def test_put_accepts_a_raw_event_and_a_timedelta_ttl(connection_table: str) -> None:
    store = ConnectionStore()
    before = int(time.time())
    item = store.put(load_event("connect.json"), ttl=timedelta(minutes=5))
    assert before + 300 <= item["expiresAt"] <= int(time.time()) + 300
    assert "principalId" not in item
    assert store.get("BFHPhfCWIAMCKlQ=") == item


def test_put_without_connected_at_uses_now(connection_table: str) -> None:
    raw = connect_event()
    del raw["requestContext"]["connectedAt"]
    before = int(time.time() * 1000)
    item = ConnectionStore().put(raw)
    assert before <= item["connectedAt"] <= int(time.time() * 1000)


def test_put_refuses_to_replace_the_key_and_bad_ttls(connection_table: str) -> None:
    store = ConnectionStore()
    with pytest.raises(ValueError, match="connectionId"):
        store.put(connect_event(), connectionId="other")
    with pytest.raises(ValueError, match="ttl"):
        store.put(connect_event(), ttl=0)


def test_ttl_attribute_comes_from_the_environment(
    connection_table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(env.CONNECTION_TTL_ATTRIBUTE, "ttl")
    item = ConnectionStore().put(connect_event())
    assert "ttl" in item and "expiresAt" not in item


def test_get_round_trips_python_types(connection_table: str) -> None:
    store = ConnectionStore()
    store.put(
        connect_event(),
        tags={"a", "b"},
        nested={"n": 2, "f": 0.25, "l": [1, "x", None, True]},
        blob=b"\x00\x01",
    )
    item = store.get("conn-1=")
    assert item is not None
    assert item["tags"] == {"a", "b"}
    assert item["nested"] == {"n": 2, "f": 0.25, "l": [1, "x", None, True]}
    assert item["blob"] == b"\x00\x01"
    assert isinstance(item["connectedAt"], int)


def test_get_of_unknown_connection_is_none(connection_table: str) -> None:
    assert ConnectionStore().get("nobody") is None


def test_delete_and_delete_is_idempotent(connection_table: str) -> None:
    store = ConnectionStore()
    store.put(connect_event())
    store.delete("conn-1=")
    store.delete("conn-1=")
    assert store.get("conn-1=") is None


def test_delete_many_crosses_batches_and_ignores_duplicates(connection_table: str) -> None:
    store = ConnectionStore()
    ids = [f"c{i:03}=" for i in range(60)]
    for cid in ids:
        store.put(connect_event(cid))
    store.delete_many([*ids[:55], ids[0], ids[1]])
    assert sorted(store.ids()) == ids[55:]


def test_ids_reads_every_page(connection_table: str) -> None:
    store = ConnectionStore()
    ids = {f"p{i:02}=" for i in range(23)}
    for cid in ids:
        store.put(connect_event(cid))
    assert set(store.ids(page_size=5)) == ids
    assert set(store.ids()) == ids


def test_groups_through_the_gsi(connection_table: str) -> None:
    # GIVEN three connections, two of them in room-1
    store = ConnectionStore()
    for cid in ("a=", "b=", "c="):
        store.put(connect_event(cid))
    assert store.set_group("a=", "room-1")
    assert store.set_group("b=", "room-1")
    store.put(connect_event("d="), group="room-2")
    # THEN the group query returns exactly them
    assert sorted(store.ids(group="room-1")) == ["a=", "b="]
    assert list(store.ids(group="room-2")) == ["d="]
    # AND leaving the group removes the attribute
    assert store.set_group("a=", None)
    assert list(store.ids(group="room-1")) == ["b="]
    item = store.get("a=")
    assert item is not None and env.DEFAULT_GROUP_ATTRIBUTE not in item


def test_set_group_of_unknown_connection_creates_nothing(connection_table: str) -> None:
    store = ConnectionStore()
    assert store.set_group("ghost=", "room-1") is False
    assert store.get("ghost=") is None


def test_group_query_without_an_index_says_what_to_set(
    connection_table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(env.CONNECTION_GROUP_INDEX)
    with pytest.raises(ConfigurationError, match=env.CONNECTION_GROUP_INDEX):
        list(ConnectionStore().ids(group="room-1"))
    explicit = ConnectionStore(group_index=env.DEFAULT_GROUP_INDEX)
    assert list(explicit.ids(group="room-1")) == []


def test_table_name_is_required_when_used() -> None:
    store = ConnectionStore()
    with pytest.raises(ConfigurationError, match=env.CONNECTION_TABLE):
        store.get("x")


def test_table_name_is_read_from_the_environment_at_call_time(
    connection_table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ConnectionStore()
    assert store.table_name == connection_table
    monkeypatch.setenv(env.CONNECTION_TABLE, "another")
    assert store.table_name == "another"
    assert ConnectionStore("explicit").table_name == "explicit"


def test_dynamodb_errors_are_typed(connection_table: str) -> None:
    store = ConnectionStore("no-such-table")
    with pytest.raises(ConnectionStoreError) as caught:
        store.get("x")
    assert caught.value.code == "ResourceNotFoundException"
    assert caught.value.status == 400


class FlakyBatchClient:
    """Wraps the real client; BatchWriteItem leaves items unprocessed the first ``times``."""

    def __init__(self, real: Any, times: int) -> None:
        self.real = real
        self.times = times
        self.calls = 0

    def batch_write_item(self, **kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        ((table, requests),) = kwargs["RequestItems"].items()
        if self.times > 0:
            self.times -= 1
            done, left = requests[:1], requests[1:]
            self.real.batch_write_item(RequestItems={table: done})
            return {"UnprocessedItems": {table: left} if left else {}}
        result: dict[str, Any] = self.real.batch_write_item(**kwargs)
        return result


def test_delete_many_retries_unprocessed_items(connection_table: str, dynamodb: Any) -> None:
    real = ConnectionStore()
    for cid in ("a=", "b=", "c="):
        real.put(connect_event(cid))
    flaky = FlakyBatchClient(dynamodb, times=2)
    ConnectionStore(client=flaky).delete_many(["a=", "b=", "c="])
    assert flaky.calls == 3
    assert list(real.ids()) == []


def test_delete_many_reports_what_stays_unprocessed(connection_table: str, dynamodb: Any) -> None:
    real = ConnectionStore()
    for cid in ("a=", "b=", "c="):
        real.put(connect_event(cid))
    flaky = FlakyBatchClient(dynamodb, times=99)
    with pytest.raises(ConnectionStoreError) as caught:
        ConnectionStore(client=flaky).delete_many(["a=", "b=", "c="], max_attempts=2)
    assert caught.value.unprocessed == ["c="]
    assert flaky.calls == 2
