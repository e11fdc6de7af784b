"""The connection table (DynamoDB): who is connected, and in which group.

::

    store = ConnectionStore()                 # table from WS_API_CONNECTION_TABLE

    @app.connect
    def on_connect(event): store.put(event, userName=event.query.get("name"))

    @app.disconnect
    def on_disconnect(event): store.delete(event.connection_id)

Items follow the schema in ``docs/contracts.md``: ``connectionId`` (S, partition key),
``connectedAt`` (N, epoch ms), ``sourceIp``, ``principalId``, the TTL attribute (N, epoch
seconds) and the group attribute (S, partition key of the grouping GSI). Items come back as
plain dicts: numbers as ``int`` (``float`` when not integral), binary as ``bytes``.

Table, TTL attribute, group index and group attribute default to the environment the
construct sets (``lambda_runtime.env``), read on every call, so one module-level store works
across invocations and in the local emulator.
"""

from __future__ import annotations

import os

from . import _aws
from .env import (
    CONNECTION_GROUP_ATTRIBUTE,
    CONNECTION_GROUP_INDEX,
    CONNECTION_TABLE,
    CONNECTION_TTL_ATTRIBUTE,
    DEFAULT_GROUP_ATTRIBUTE,
    DEFAULT_TTL_ATTRIBUTE,
    FANOUT_MARKER_PREFIX,
    PARTITION_KEY,
)
from .events import WebSocketEvent, parse_event
from .exceptions import ConfigurationError, ConnectionStoreError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping
    from datetime import timedelta
    from typing import Any

__all__ = ["DEFAULT_TTL_SECONDS", "ConnectionStore"]

#: Default lifetime of an item (2 hours: API Gateway's maximum connection duration).
DEFAULT_TTL_SECONDS = 7200
_BATCH_SIZE = 25  # BatchWriteItem's limit


class ConnectionStore:
    """Connection records in a DynamoDB table.

    Every argument is optional: ``table_name`` defaults to ``WS_API_CONNECTION_TABLE``,
    ``ttl_attribute`` to ``WS_API_CONNECTION_TTL_ATTRIBUTE`` (else ``expiresAt``),
    ``group_index``/``group_attribute`` to ``WS_API_CONNECTION_GROUP_INDEX`` /
    ``WS_API_CONNECTION_GROUP_ATTRIBUTE`` (else ``groupId``). ``client`` replaces the cached
    boto3 DynamoDB client. DynamoDB errors raise ``ConnectionStoreError``; a missing table name
    or group index raises ``ConfigurationError`` when a call needs it.
    """

    def __init__(
        self,
        table_name: str | None = None,
        *,
        client: Any = None,
        ttl_attribute: str | None = None,
        group_index: str | None = None,
        group_attribute: str | None = None,
    ) -> None:
        self._table_name = table_name
        self._client = client
        self._ttl_attribute = ttl_attribute
        self._group_index = group_index
        self._group_attribute = group_attribute

    def __repr__(self) -> str:
        return f"ConnectionStore({self._table_name or '$' + CONNECTION_TABLE!r})"

    @property
    def table_name(self) -> str:
        name = self._table_name or os.environ.get(CONNECTION_TABLE)
        if not name:
            raise ConfigurationError(
                f"no connection table: pass table_name or set {CONNECTION_TABLE}"
            )
        return name

    @property
    def ttl_attribute(self) -> str:
        return (
            self._ttl_attribute or os.environ.get(CONNECTION_TTL_ATTRIBUTE) or DEFAULT_TTL_ATTRIBUTE
        )

    @property
    def group_attribute(self) -> str:
        return (
            self._group_attribute
            or os.environ.get(CONNECTION_GROUP_ATTRIBUTE)
            or DEFAULT_GROUP_ATTRIBUTE
        )

    @property
    def group_index(self) -> str:
        name = self._group_index or os.environ.get(CONNECTION_GROUP_INDEX)
        if not name:
            raise ConfigurationError(
                f"the connection table has no group index: pass group_index or set "
                f"{CONNECTION_GROUP_INDEX} (the construct sets it when grouping is enabled)"
            )
        return name

    @property
    def client(self) -> Any:
        """The boto3 DynamoDB client (created on first use, then cached)."""
        if self._client is None:
            self._client = _aws.client("dynamodb")
        return self._client

    def _call(self, operation: str, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, operation)(**kwargs)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise ConnectionStoreError(
                f"{operation} on {kwargs.get('TableName')!r}: "
                f"{error.get('Message') or error.get('Code') or exc}",
                code=error.get("Code"),
                status=exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode"),
            ) from exc
        except BotoCoreError as exc:
            raise ConnectionStoreError(f"{operation}: {exc}", code=type(exc).__name__) from exc

    def put(
        self,
        event: WebSocketEvent | Mapping[str, Any],
        *,
        ttl: timedelta | float = DEFAULT_TTL_SECONDS,
        group: str | None = None,
        **attributes: Any,
    ) -> dict[str, Any]:
        """Record the event's connection and return the item written.

        Writes ``connectionId``, ``connectedAt`` (epoch ms; now when the event has none),
        ``sourceIp`` and ``principalId`` (when the event has them), the TTL attribute
        (now + ``ttl``, a ``timedelta`` or seconds; default 2 hours), the group attribute when
        ``group`` is given, and ``attributes`` (which may not replace ``connectionId``).
        Replaces any item with the same id.
        """
        if PARTITION_KEY in attributes:
            raise ValueError(f"{PARTITION_KEY} comes from the event; it cannot be an attribute")
        import time

        parsed = event if isinstance(event, WebSocketEvent) else parse_event(event)
        seconds = ttl.total_seconds() if hasattr(ttl, "total_seconds") else float(ttl)
        if not seconds > 0:
            raise ValueError(f"ttl must be positive, got {ttl!r}")
        now = time.time()
        connected = parsed.connected_at  # validates the field
        item: dict[str, Any] = {
            PARTITION_KEY: parsed.connection_id,
            "connectedAt": (
                round(connected.timestamp() * 1000) if connected is not None else int(now * 1000)
            ),
        }
        if parsed.source_ip is not None:
            item["sourceIp"] = parsed.source_ip
        if parsed.principal_id is not None:
            item["principalId"] = parsed.principal_id
        item[self.ttl_attribute] = int(now + seconds)
        if group is not None:
            item[self.group_attribute] = group
        item.update(attributes)
        self._call("put_item", TableName=self.table_name, Item=_serialize(item))
        return item

    def get(self, connection_id: str) -> dict[str, Any] | None:
        """The connection's item (strongly consistent read), None when there is none."""
        response = self._call(
            "get_item",
            TableName=self.table_name,
            Key={PARTITION_KEY: {"S": connection_id}},
            ConsistentRead=True,
        )
        item = response.get("Item")
        return _deserialize(item) if item is not None else None

    def delete(self, connection_id: str) -> None:
        """Delete the connection's item (no error when there is none)."""
        self._call(
            "delete_item", TableName=self.table_name, Key={PARTITION_KEY: {"S": connection_id}}
        )

    def delete_many(self, connection_ids: Iterable[str], *, max_attempts: int = 6) -> None:
        """Delete many items, 25 per ``BatchWriteItem``; unprocessed items are retried with
        jittered backoff, up to ``max_attempts`` tries per batch. Raises
        ``ConnectionStoreError`` (with ``unprocessed``) for what still remains."""
        import random
        import time

        table = self.table_name
        ids = list(dict.fromkeys(connection_ids))  # a batch may not name a key twice
        for start in range(0, len(ids), _BATCH_SIZE):
            requests: list[dict[str, Any]] = [
                {"DeleteRequest": {"Key": {PARTITION_KEY: {"S": cid}}}}
                for cid in ids[start : start + _BATCH_SIZE]
            ]
            for attempt in range(max_attempts):
                response = self._call("batch_write_item", RequestItems={table: requests})
                requests = response.get("UnprocessedItems", {}).get(table, [])
                if not requests:
                    break
                if attempt + 1 < max_attempts:
                    time.sleep(random.uniform(0, min(1.0, 0.05 * 2**attempt)))
            if requests:
                left = [r["DeleteRequest"]["Key"][PARTITION_KEY]["S"] for r in requests]
                raise ConnectionStoreError(
                    f"{len(left)} connection(s) still unprocessed after {max_attempts} tries",
                    code="UnprocessedItems",
                    unprocessed=left,
                )

    def ids(self, group: str | None = None, *, page_size: int | None = None) -> Iterator[str]:
        """Every connection id (a ``Scan``), or those of ``group`` (a ``Query`` on the group
        index), reading page after page lazily (``page_size`` items per request; default: as
        many as fit in DynamoDB's 1 MB page). The fan-out's progress markers (keys starting
        with ``env.FANOUT_MARKER_PREFIX``, never in a group) are not connections: a scan
        filters them out."""
        names = {"#k": PARTITION_KEY}
        kwargs: dict[str, Any] = {"TableName": self.table_name, "ProjectionExpression": "#k"}
        if page_size is not None:
            kwargs["Limit"] = page_size
        operation = "scan"
        if group is None:
            kwargs["FilterExpression"] = "NOT begins_with(#k, :marker)"
            kwargs["ExpressionAttributeValues"] = {":marker": {"S": FANOUT_MARKER_PREFIX}}
        else:
            operation = "query"
            names["#g"] = self.group_attribute
            kwargs["IndexName"] = self.group_index
            kwargs["KeyConditionExpression"] = "#g = :g"
            kwargs["ExpressionAttributeValues"] = {":g": {"S": group}}
        kwargs["ExpressionAttributeNames"] = names
        while True:
            page = self._call(operation, **kwargs)
            for item in page.get("Items", []):
                yield item[PARTITION_KEY]["S"]
            last = page.get("LastEvaluatedKey")
            if not last:
                return
            kwargs["ExclusiveStartKey"] = last

    def set_group(self, connection_id: str, group: str | None) -> bool:
        """Put a connection in ``group`` (None: in no group). Returns False, changing nothing,
        when the connection has no item."""
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": {PARTITION_KEY: {"S": connection_id}},
            "ConditionExpression": "attribute_exists(#k)",
            "ExpressionAttributeNames": {"#k": PARTITION_KEY, "#g": self.group_attribute},
        }
        if group is None:
            kwargs["UpdateExpression"] = "REMOVE #g"
        else:
            kwargs["UpdateExpression"] = "SET #g = :g"
            kwargs["ExpressionAttributeValues"] = {":g": {"S": group}}
        try:
            self._call("update_item", **kwargs)
        except ConnectionStoreError as exc:
            if exc.code == "ConditionalCheckFailedException":
                return False
            raise
        return True


def _serialize(item: Mapping[str, Any]) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeSerializer

    serializer = TypeSerializer()
    return {key: serializer.serialize(_to_dynamo(value)) for key, value in item.items()}


def _to_dynamo(value: Any) -> Any:
    """floats → Decimal (TypeSerializer refuses floats), recursively."""
    if isinstance(value, float):
        from decimal import Decimal

        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _to_dynamo(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_dynamo(v) for v in value]
    return value


def _deserialize(item: Mapping[str, Any]) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    return {key: _to_python(deserializer.deserialize(value)) for key, value in item.items()}


def _to_python(value: Any) -> Any:
    """Decimal → int/float, Binary → bytes, recursively."""
    from decimal import Decimal

    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _to_python(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_python(v) for v in value]
    if isinstance(value, set):
        return {_to_python(v) for v in value}
    if hasattr(value, "value") and type(value).__name__ == "Binary":
        return bytes(value.value)
    return value
