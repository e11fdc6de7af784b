"""Fixtures of the lambda_runtime tests: event fixtures, a moto server, an API Gateway stub.

Everything listens on 127.0.0.1 with a port the OS picks; credentials are fake (the suite's
``tests/conftest.py`` sets them) and the instance metadata service is disabled, so nothing can
reach AWS.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from lambda_runtime import env

from .apigw_stub import ApiGatewayStub

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "aws-events"


def load_event(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return data


@pytest.fixture(autouse=True)
def _isolated_aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake credentials, a fixed region, and none of the variables the runtime reads."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    for name in (
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI",
        env.CONNECTION_TABLE,
        env.CONNECTION_TTL_ATTRIBUTE,
        env.CONNECTION_GROUP_INDEX,
        env.CONNECTION_GROUP_ATTRIBUTE,
        env.MANAGEMENT_ENDPOINT,
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="session")
def _apigw_server() -> Iterator[ApiGatewayStub]:
    stub = ApiGatewayStub(stage="test").start()
    try:
        yield stub
    finally:
        stub.stop()


@pytest.fixture
def apigw(_apigw_server: ApiGatewayStub) -> ApiGatewayStub:
    """The API Gateway stub, with no connections, scripts or recorded requests."""
    _apigw_server.reset()
    return _apigw_server


@pytest.fixture
def dynamodb(moto_url: str) -> Any:
    return boto3.client("dynamodb", endpoint_url=moto_url, region_name="us-east-1")


@pytest.fixture
def connection_table(
    dynamodb: Any, moto_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A fresh connection table shaped like the construct's (TTL + ``byGroup`` GSI), named in
    the environment the construct sets, with DynamoDB's endpoint pointed at moto."""
    name = f"connections-{uuid.uuid4().hex[:12]}"
    dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": env.PARTITION_KEY, "AttributeType": "S"},
            {"AttributeName": env.DEFAULT_GROUP_ATTRIBUTE, "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": env.PARTITION_KEY, "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": env.DEFAULT_GROUP_INDEX,
                "KeySchema": [{"AttributeName": env.DEFAULT_GROUP_ATTRIBUTE, "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
    )
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", moto_url)
    monkeypatch.setenv(env.CONNECTION_TABLE, name)
    monkeypatch.setenv(env.CONNECTION_GROUP_INDEX, env.DEFAULT_GROUP_INDEX)
    try:
        yield name
    finally:
        dynamodb.delete_table(TableName=name)
