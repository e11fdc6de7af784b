"""The IAM check in front of moto: request → (action, resource) pairs, the services' own
denial shapes (parsed by botocore as boto3 does), and the WSGI middleware
(cdk_ws_api.local.iam.requests / responses / wsgi)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.loaders import Loader
from botocore.model import ServiceModel
from botocore.parsers import create_parser
from werkzeug.test import Client
from werkzeug.wrappers import Response

from cdk_ws_api.local.iam.model import Identity, Permissions
from cdk_ws_api.local.iam.requests import authorizations
from cdk_ws_api.local.iam.responses import (
    connections_denied,
    dynamodb_denied,
    json_denied,
    lambda_denied,
    query_denied,
)
from cdk_ws_api.local.iam.wsgi import DENIAL_PREFIX, guarded

REGION, ACCOUNT = "us-east-1", "123456789012"
TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/T"


def pairs(service: str, operation: str, params: dict[str, Any]) -> list[tuple[str, str | None]]:
    target = {
        "dynamodb": "DynamoDB_20120810",
        "sqs": "AmazonSQS",
        "events": "AWSEvents",
        "states": "AWSStepFunctions",
    }[service]
    return authorizations(
        service=service,
        target=f"{target}.{operation}",
        body=json.dumps(params).encode(),
        content_type="application/x-amz-json-1.0",
        region=REGION,
        account=ACCOUNT,
    )


@pytest.mark.parametrize(
    ("operation", "params", "expected"),
    [
        ("PutItem", {"TableName": "T", "Item": {}}, [("dynamodb:PutItem", TABLE)]),
        ("GetItem", {"TableName": TABLE}, [("dynamodb:GetItem", TABLE)]),  # an ARN as name
        (
            "Query",
            {"TableName": "T", "IndexName": "byGroup"},
            [("dynamodb:Query", f"{TABLE}/index/byGroup")],
        ),
        (
            "UpdateItem",
            {"TableName": "T", "IndexName": "ignored"},
            [("dynamodb:UpdateItem", TABLE)],
        ),
        (
            "BatchWriteItem",
            {"RequestItems": {"T": [], "U": []}},
            [("dynamodb:BatchWriteItem", TABLE), ("dynamodb:BatchWriteItem", TABLE[:-1] + "U")],
        ),
        (
            "TransactWriteItems",
            {
                "TransactItems": [
                    {"Put": {"TableName": "T"}},
                    {"ConditionCheck": {"TableName": "U"}},
                ]
            },
            [("dynamodb:PutItem", TABLE), ("dynamodb:ConditionCheckItem", TABLE[:-1] + "U")],
        ),
        (
            "TransactGetItems",
            {"TransactItems": [{"Get": {"TableName": "T"}}]},
            [("dynamodb:GetItem", TABLE)],
        ),
        (
            "ExecuteStatement",
            {"Statement": 'INSERT INTO "T" VALUE {}'},
            [("dynamodb:PartiQLInsert", TABLE)],
        ),
        (
            "ExecuteStatement",
            {"Statement": "SELECT * FROM T WHERE a = 1"},
            [("dynamodb:PartiQLSelect", TABLE)],
        ),
        ("ListTables", {}, [("dynamodb:ListTables", "*")]),
        ("GetRecords", {"ShardIterator": "x"}, [("dynamodb:GetRecords", None)]),
    ],
)
def test_dynamodb_requests_map_to_what_aws_authorizes(
    operation: str, params: dict[str, Any], expected: list[tuple[str, str | None]]
) -> None:
    assert pairs("dynamodb", operation, params) == expected


def test_other_services_requests() -> None:
    url = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/jobs"
    assert pairs("sqs", "SendMessage", {"QueueUrl": url}) == [
        ("sqs:SendMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:jobs")
    ]
    # batch forms are authorized as the single action (there is no sqs:SendMessageBatch)
    assert pairs("sqs", "SendMessageBatch", {"QueueUrl": url}) == [
        ("sqs:SendMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:jobs")
    ]
    assert pairs("sqs", "DeleteMessageBatch", {"QueueUrl": url})[0][0] == "sqs:DeleteMessage"
    assert pairs("events", "PutEvents", {"Entries": [{}, {"EventBusName": "orders"}]}) == [
        ("events:PutEvents", f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default"),
        ("events:PutEvents", f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/orders"),
    ]
    machine = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:m"
    assert pairs("states", "StartExecution", {"stateMachineArn": machine}) == [
        ("states:StartExecution", machine)
    ]
    form = authorizations(
        service="sqs",
        target=None,
        body=b"Action=SendMessage&QueueUrl=" + url.encode(),
        content_type="application/x-www-form-urlencoded",
        region=REGION,
        account=ACCOUNT,
    )
    assert form == [("sqs:SendMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:jobs")]


def parsed(
    service: str, operation: str, answer: tuple[int, dict[str, str], bytes]
) -> dict[str, Any]:
    """What botocore (so boto3) makes of an answer."""
    loader = Loader()
    model = ServiceModel(loader.load_service_model(service, "service-2"), service)
    status, headers, body = answer
    parser = create_parser(model.metadata["protocol"])
    # HTTP header names are case-insensitive; botocore's transport hands them over lower-cased.
    lowered = {name.lower(): value for name, value in headers.items()}
    return parser.parse(
        {"status_code": status, "headers": lowered, "body": body},
        model.operation_model(operation).output_shape,
    )


@pytest.mark.parametrize(
    ("service", "operation", "answer", "status"),
    [
        ("dynamodb", "PutItem", dynamodb_denied("no"), 400),
        ("apigatewaymanagementapi", "PostToConnection", connections_denied("no"), 403),
        ("lambda", "Invoke", lambda_denied("no"), 403),
        ("events", "PutEvents", json_denied("no"), 400),
    ],
)
def test_denials_parse_as_access_denied_exception(
    service: str, operation: str, answer: tuple[int, dict[str, str], bytes], status: int
) -> None:
    result = parsed(service, operation, answer)
    assert result["Error"]["Code"] == "AccessDeniedException"
    assert result["Error"]["Message"] == "no"
    assert result["ResponseMetadata"]["HTTPStatusCode"] == status


def test_query_protocol_denial_parses_as_access_denied() -> None:
    result = parsed("sns", "Publish", query_denied("no <&> way"))
    assert result["Error"]["Code"] == "AccessDenied"
    assert result["Error"]["Message"] == "no <&> way"
    assert result["ResponseMetadata"]["HTTPStatusCode"] == 403


KEY = "ASIAFUNCTIONKEY00000"


def config(mode: str) -> dict[str, Any]:
    identity = Identity(
        logical_id="Handler1234ABCD",
        function="Stack-Handler1234ABCD",
        role="Stack-Role",
        account=ACCOUNT,
        access_key_id=KEY,
        policies=(
            (
                "P",
                {
                    "Statement": [
                        {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": TABLE}
                    ]
                },
            ),
        ),
    )
    permissions = Permissions({identity.logical_id: identity}, tables={"T": "TableABCD1234"})
    return {
        "mode": mode,
        "region": REGION,
        "account": ACCOUNT,
        "permissions": permissions.to_json(),
    }


def moto_stand_in(seen: list[bytes]) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> Any:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        seen.append(environ["wsgi.input"].read(length))
        return Response(b"{}", 200, content_type="application/x-amz-json-1.0")(
            environ, start_response
        )

    return app


def signed(operation: str, params: dict[str, Any], key: str) -> dict[str, Any]:
    body = json.dumps(params).encode()
    request = AWSRequest(
        method="POST",
        url="http://127.0.0.1:1/",
        data=body,
        headers={
            "X-Amz-Target": f"DynamoDB_20120810.{operation}",
            "Content-Type": "application/x-amz-json-1.0",
        },
    )
    SigV4Auth(Credentials(key, "secret", "token"), "dynamodb", REGION).add_auth(request)
    return {"data": body, "headers": dict(request.headers.items())}


def test_middleware_denies_a_function_in_dynamodb_s_shape(
    capsys: pytest.CaptureFixture[str],
) -> None:
    seen: list[bytes] = []
    client = Client(guarded(moto_stand_in(seen), config("enforce")))
    response = client.post("/", **signed("PutItem", {"TableName": "T", "Item": {}}, KEY))
    assert response.status_code == 400
    body = response.get_json(force=True)
    assert body["__type"] == "com.amazon.coral.service#AccessDeniedException"
    assert body["Message"] == (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/Stack-Role/Stack-Handler1234ABCD is not "
        f"authorized to perform: dynamodb:PutItem on resource: {TABLE} because no "
        "identity-based policy allows the dynamodb:PutItem action"
    )
    assert seen == []  # moto never saw it
    report = json.loads(capsys.readouterr().out.strip().removeprefix(DENIAL_PREFIX))
    assert report["allowed"] is False and report["action"] == "dynamodb:PutItem"
    assert "give Handler `Table.grant_write_data(Handler)`" in report["line"]


def test_middleware_passes_allowed_calls_with_their_body() -> None:
    seen: list[bytes] = []
    client = Client(guarded(moto_stand_in(seen), config("enforce")))
    request = signed("GetItem", {"TableName": "T", "Key": {}}, KEY)
    assert client.post("/", **request).status_code == 200
    assert seen == [request["data"]]


def test_middleware_lets_other_keys_through_unchecked() -> None:
    seen: list[bytes] = []
    client = Client(guarded(moto_stand_in(seen), config("enforce")))
    assert (
        client.post("/", **signed("DeleteTable", {"TableName": "T"}, "AKIATESTER")).status_code
        == 200
    )
    assert len(seen) == 1


def test_middleware_under_warn_serves_and_reports(capsys: pytest.CaptureFixture[str]) -> None:
    seen: list[bytes] = []
    client = Client(guarded(moto_stand_in(seen), config("warn")))
    assert client.post("/", **signed("PutItem", {"TableName": "T"}, KEY)).status_code == 200
    assert len(seen) == 1
    out = capsys.readouterr().out
    assert out.startswith(DENIAL_PREFIX) and '"allowed": true' in out


def test_configure_swaps_the_permissions_a_running_middleware_checks() -> None:
    # A re-synthesized app under --watch: the guard starts with no identity (everything
    # passes), and the next configuration's function is checked from then on.
    seen: list[bytes] = []
    empty = {**config("enforce"), "permissions": Permissions({}).to_json()}
    app = guarded(moto_stand_in(seen), empty)
    client = Client(app)
    put = signed("PutItem", {"TableName": "T", "Item": {}}, KEY)
    assert client.post("/", **put).status_code == 200
    app.configure(config("enforce"))
    assert client.post("/", **put).status_code == 400
    assert len(seen) == 1
