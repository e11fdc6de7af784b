"""Which IAM actions and resource ARNs one AWS API request needs (pure).

:func:`authorizations` maps a request to moto (service from the SigV4 credential scope,
operation from ``X-Amz-Target`` or the query ``Action``, parameters from the body) to the
``(action, resource)`` pairs AWS authorizes, all of which must be allowed:

- DynamoDB: the table ARN (``arn:aws:dynamodb:{region}:{account}:table/{name}``; an index for
  ``Query``/``Scan`` with ``IndexName``); one pair per table for ``BatchGetItem``/
  ``BatchWriteItem``; per item for ``TransactWriteItems`` (``dynamodb:PutItem``,
  ``UpdateItem``, ``DeleteItem``, ``ConditionCheckItem``) and ``TransactGetItems``
  (``dynamodb:GetItem``), as AWS checks them; PartiQL statements as
  ``dynamodb:PartiQL{Select,Insert,Update,Delete}`` on the table they name; streams on
  ``StreamArn``; operations on no table (``ListTables``) on ``*``.
- SQS (``QueueUrl``), EventBridge ``PutEvents`` (each entry's bus, ``default`` when unset),
  Step Functions (``stateMachineArn``/``executionArn``), SNS (``TopicArn``). Batch forms are
  authorized as their single action, as AWS does (``SendMessageBatch`` needs
  ``sqs:SendMessage``, ``DeleteMessageBatch`` ``sqs:DeleteMessage``, ``PublishBatch``
  ``sns:Publish``).
- Anything else: the action with resource ``None`` (not known: only the action and the
  conditions are evaluated).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["authorizations", "operation_of"]

Pairs = list[tuple[str, "str | None"]]

_PARTIQL = {"SELECT": "Select", "INSERT": "Insert", "UPDATE": "Update", "DELETE": "Delete"}
_PARTIQL_TABLE = re.compile(r'(?:FROM|INTO|UPDATE)\s+"?([A-Za-z0-9_.-]+)"?', re.IGNORECASE)
_TRANSACT = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}


def operation_of(target: str | None, body: bytes, content_type: str) -> str | None:
    """``PutItem`` from ``X-Amz-Target: DynamoDB_20120810.PutItem`` or ``Action=...``."""
    if target:
        return target.rsplit(".", 1)[-1]
    if "x-www-form-urlencoded" in content_type:
        values = parse_qs(body.decode("utf-8", "replace")).get("Action")
        return values[0] if values else None
    return None


def _params(body: bytes, content_type: str) -> Mapping[str, Any]:
    if "json" in content_type or body[:1] == b"{":
        try:
            loaded = json.loads(body or b"{}")
        except ValueError:
            return {}
        return loaded if isinstance(loaded, dict) else {}
    if "x-www-form-urlencoded" in content_type:
        return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
    return {}


#: API operations AWS authorizes under another action's name (batch forms of single actions).
_AUTHORIZED_AS = {
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
    "sns:PublishBatch": "sns:Publish",
}


def _table(name: Any, region: str, account: str) -> str:
    text = str(name)
    return text if text.startswith("arn:") else f"arn:aws:dynamodb:{region}:{account}:table/{text}"


def _dynamodb(operation: str, params: Mapping[str, Any], region: str, account: str) -> Pairs:
    action = f"dynamodb:{operation}"
    if operation in ("BatchGetItem", "BatchWriteItem"):
        return [(action, _table(t, region, account)) for t in params.get("RequestItems") or {}]
    if operation in ("TransactWriteItems", "TransactGetItems"):
        pairs: Pairs = []
        for item in params.get("TransactItems") or []:
            for kind, body in (item or {}).items():
                if kind in _TRANSACT and isinstance(body, dict):
                    table = _table(body.get("TableName"), region, account)
                    pairs.append((f"dynamodb:{_TRANSACT[kind]}", table))
        return pairs
    if operation in ("ExecuteStatement", "BatchExecuteStatement", "ExecuteTransaction"):
        if operation == "ExecuteStatement":
            statements = [params]
        else:
            statements = params.get("Statements") or params.get("TransactStatements") or []
        pairs = []
        for entry in statements:
            text = str((entry or {}).get("Statement", "")).strip()
            verb = _PARTIQL.get(text.split(" ", 1)[0].upper(), "Select")
            found = _PARTIQL_TABLE.search(text)
            resource = _table(found.group(1), region, account) if found else None
            pairs.append((f"dynamodb:PartiQL{verb}", resource))
        return pairs
    if "StreamArn" in params:
        return [(action, str(params["StreamArn"]))]
    if "TableName" in params:
        table = _table(params["TableName"], region, account)
        if params.get("IndexName") and operation in ("Query", "Scan"):
            table = f"{table}/index/{params['IndexName']}"
        return [(action, table)]
    if "ResourceArn" in params:
        return [(action, str(params["ResourceArn"]))]
    if operation == "GetRecords":
        return [(action, None)]  # a shard iterator names no ARN
    return [(action, "*")]


def _queue_arn(url: str, region: str) -> str | None:
    parts = urlsplit(url).path.strip("/").split("/")
    if len(parts) >= 2:
        return f"arn:aws:sqs:{region}:{parts[-2]}:{parts[-1]}"
    return None


def authorizations(
    *,
    service: str,
    target: str | None,
    body: bytes,
    content_type: str,
    region: str,
    account: str,
) -> Pairs:
    """The ``(action, resource)`` pairs one request needs (empty: nothing to check)."""
    operation = operation_of(target, body, content_type)
    if not operation:
        return []
    params = _params(body, content_type)
    if service == "dynamodb":
        return _dynamodb(operation, params, region, account)
    action = f"{service}:{operation}"
    action = _AUTHORIZED_AS.get(action, action)
    if service == "sqs" and params.get("QueueUrl"):
        return [(action, _queue_arn(str(params["QueueUrl"]), region))]
    if service == "events" and operation == "PutEvents":
        buses = {str(e.get("EventBusName") or "default") for e in params.get("Entries") or []}
        prefix = f"arn:aws:events:{region}:{account}:event-bus/"
        return [(action, b if b.startswith("arn:") else prefix + b) for b in sorted(buses)]
    for key in ("stateMachineArn", "executionArn", "TopicArn"):
        if params.get(key):
            return [(action, str(params[key]))]
    return [(action, None)]
