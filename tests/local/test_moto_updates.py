"""A re-synthesized app's tables and permissions reach the embedded moto server, started or
not yet started (``LocalDynamoDB.add`` / ``configure_iam``), on a real moto process."""

from __future__ import annotations

import asyncio
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from cdk_ws_api.local.dynamodb import LocalDynamoDB
from cdk_ws_api.local.iam.model import Identity, Permissions
from cdk_ws_api.local.specs import TableSpec

pytestmark = pytest.mark.timeout(180)

REGION, ACCOUNT = "us-east-1", "123456789012"
KEY = "ASIAFUNCTIONKEY00001"


def _table(name: str) -> TableSpec:
    return TableSpec(name, name, (("id", "HASH"),), (("id", "S"),))


def _iam(allowed: str) -> dict[str, Any]:
    identity = Identity(
        logical_id="Fn",
        function="Stack-Fn",
        role="Stack-Role",
        account=ACCOUNT,
        access_key_id=KEY,
        policies=(("P", {"Statement": [{"Effect": "Allow", "Action": allowed, "Resource": "*"}]}),),
    )
    permissions = Permissions({"Fn": identity})
    return {
        "mode": "enforce",
        "region": REGION,
        "account": ACCOUNT,
        "permissions": permissions.to_json(),
    }


def _client(endpoint: str, key: str = "AKIATESTER") -> Any:
    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=key,
        aws_secret_access_key="x",
        aws_session_token="t",
    )


def test_tables_added_before_moto_starts_are_created_by_its_boot() -> None:
    async def scenario() -> None:
        local = LocalDynamoDB(region=REGION)
        try:
            assert await local.add([_table("First")], []) == ["First"]  # opens the endpoint
            assert local.endpoint is not None and not local.started
            assert await local.add([_table("First"), _table("Second")], []) == ["Second"]
            await local.ensure_started()
            names = await asyncio.to_thread(lambda: _client(local.endpoint).list_tables())
            assert sorted(names["TableNames"]) == ["First", "Second"]
        finally:
            await local.stop()

    asyncio.run(scenario())


def test_tables_added_while_moto_runs_keep_the_old_items_and_iam_is_reconfigured() -> None:
    async def scenario() -> None:
        local = LocalDynamoDB(region=REGION, iam=_iam("dynamodb:*"))
        try:
            await local.start([_table("Old")])
            endpoint = local.endpoint
            assert endpoint is not None
            old = _client(endpoint)
            await asyncio.to_thread(old.put_item, TableName="Old", Item={"id": {"S": "kept"}})
            assert await local.add([_table("Old"), _table("New")], []) == ["New"]
            function = _client(endpoint, KEY)
            await asyncio.to_thread(function.put_item, TableName="New", Item={"id": {"S": "n"}})
            item = await asyncio.to_thread(old.get_item, TableName="Old", Key={"id": {"S": "kept"}})
            assert item["Item"]["id"]["S"] == "kept"
            # The function loses its write grant: moto's guard denies from now on.
            await local.configure_iam(_iam("dynamodb:GetItem"))
            with pytest.raises(ClientError) as denied:
                await asyncio.to_thread(function.put_item, TableName="New", Item={"id": {"S": "m"}})
            assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
            got = await asyncio.to_thread(
                function.get_item, TableName="New", Key={"id": {"S": "n"}}
            )
            assert "Item" in got
        finally:
            await local.stop()

    asyncio.run(scenario())
