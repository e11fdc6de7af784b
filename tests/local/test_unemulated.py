"""The 501 answer for AWS services the emulator does not provide (no moto server)."""

from __future__ import annotations

import json

from cdk_ws_api.local.httpparse import HttpRequest
from cdk_ws_api.local.unemulated import service_of, unemulated_service_response

AUTH = (
    "AWS4-HMAC-SHA256 Credential=AKIALOCAL/20260101/us-east-1/{service}/aws4_request, "
    "SignedHeaders=host, Signature=abc"
)


def _request(service: str, *headers: tuple[str, str]) -> HttpRequest:
    return HttpRequest(
        "POST",
        "/-no-local-service-/",
        "HTTP/1.1",
        [("Authorization", AUTH.format(service=service)), *headers],
        b"",
    )


def test_service_is_read_from_the_credential_scope() -> None:
    assert service_of(_request("sqs")) == "sqs"
    assert service_of(HttpRequest("GET", "/", "HTTP/1.1", [], b"")) == "unknown"


def test_error_shape_follows_the_protocol() -> None:
    json_rpc = unemulated_service_response(
        _request("sqs", ("X-Amz-Target", "AmazonSQS.ListQueues"))
    )
    assert json_rpc.status == 501
    assert json.loads(json_rpc.body)["__type"] == "NotImplemented"
    assert "'sqs'" in json.loads(json_rpc.body)["message"]
    query = unemulated_service_response(
        _request("sts", ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"))
    )
    assert query.body.startswith(b"<ErrorResponse><Error><Type>Sender</Type><Code>NotImplemented")
    rest_xml = unemulated_service_response(_request("s3"))
    assert rest_xml.body.startswith(b"<Error><Code>NotImplemented</Code>")
    rest_json = unemulated_service_response(_request("lambda"))
    assert rest_json.headers["x-amzn-ErrorType"] == "NotImplemented"
    assert "'lambda'" in json.loads(rest_json.body)["message"]
