"""The ``AccessDeniedException`` each service answers, in its own wire format (pure).

``(status, headers, body)`` triples; the message is :attr:`.guard.Denial.message`.

- DynamoDB (JSON 1.0): 400, ``{"__type": "com.amazon.coral.service#AccessDeniedException",
  "Message": ...}``.
- API Gateway ``@connections`` and Lambda (rest-json): 403, ``x-amzn-ErrorType:
  AccessDeniedException``, ``{"Message": ...}`` (Lambda adds ``"Type": "User"``).
- Other JSON-protocol services moto serves (EventBridge, Step Functions, SQS's JSON
  protocol): 400 ``AccessDeniedException``; query/XML services (SQS's query protocol, SNS):
  403 ``AccessDenied`` in an ``ErrorResponse`` document.
"""

from __future__ import annotations

import json
import uuid
from html import escape

__all__ = [
    "connections_denied",
    "dynamodb_denied",
    "json_denied",
    "lambda_denied",
    "query_denied",
]

Answer = tuple[int, dict[str, str], bytes]


def _request_id() -> str:
    return str(uuid.uuid4())


def dynamodb_denied(message: str) -> Answer:
    body = {"__type": "com.amazon.coral.service#AccessDeniedException", "Message": message}
    headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": _request_id()}
    return 400, headers, json.dumps(body).encode()


def json_denied(message: str, content_type: str = "application/x-amz-json-1.1") -> Answer:
    body = {"__type": "AccessDeniedException", "message": message}
    headers = {"Content-Type": content_type, "x-amzn-RequestId": _request_id()}
    return 400, headers, json.dumps(body).encode()


def _rest_json(message: str, extra: dict[str, str] | None = None) -> Answer:
    headers = {
        "Content-Type": "application/json",
        "x-amzn-RequestId": _request_id(),
        "x-amzn-ErrorType": "AccessDeniedException",
    }
    return 403, headers, json.dumps({**(extra or {}), "Message": message}).encode()


def connections_denied(message: str) -> Answer:
    return _rest_json(message)


def lambda_denied(message: str) -> Answer:
    return _rest_json(message, {"Type": "User"})


def query_denied(message: str) -> Answer:
    request_id = _request_id()
    body = (
        '<?xml version="1.0"?><ErrorResponse><Error><Type>Sender</Type>'
        f"<Code>AccessDenied</Code><Message>{escape(message, quote=False)}</Message></Error>"
        f"<RequestId>{request_id}</RequestId></ErrorResponse>"
    )
    return 403, {"Content-Type": "text/xml", "x-amzn-RequestId": request_id}, body.encode()
