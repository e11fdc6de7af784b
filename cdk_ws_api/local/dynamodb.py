"""The embedded DynamoDB: a moto server subprocess on 127.0.0.1 and the template's tables.

moto runs in its own process (not a thread) so its request handling does not compete with the
gateway's event loop for the GIL. It binds port 0, prints the port, and exits when its stdin
reaches EOF, so it dies with the emulator even on SIGKILL. Tables are created with their key
schema, GSIs/LSIs, streams and TTL; workers get ``AWS_ENDPOINT_URL_DYNAMODB`` and fake
credentials (see :meth:`LocalDynamoDB.environment`).
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from .exceptions import DynamoDBError
from .specs import TableSpec

__all__ = ["FAKE_CREDENTIALS", "LocalDynamoDB", "create_table_request"]

#: Credentials every worker gets; moto accepts any, and no real key can leak to a handler.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "AKIALOCALEMULATOR000",
    "AWS_SECRET_ACCESS_KEY": "local-emulator-secret",
    "AWS_SESSION_TOKEN": "local-emulator-session",
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
}

_SERVER = """
import logging, sys
logging.getLogger("werkzeug").setLevel(logging.ERROR)
from moto.server import ThreadedMotoServer
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()
server.stop()
"""


def create_table_request(table: TableSpec) -> dict[str, Any]:
    """The ``CreateTable`` parameters for ``table`` (on-demand billing)."""
    request: dict[str, Any] = {
        "TableName": table.name,
        "KeySchema": [{"AttributeName": n, "KeyType": t} for n, t in table.key_schema],
        "AttributeDefinitions": [
            {"AttributeName": n, "AttributeType": t} for n, t in table.attribute_definitions
        ],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if table.global_indexes:
        request["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index.name,
                "KeySchema": [{"AttributeName": n, "KeyType": t} for n, t in index.key_schema],
                "Projection": index.projection,
            }
            for index in table.global_indexes
        ]
    if table.local_indexes:
        request["LocalSecondaryIndexes"] = [
            {
                "IndexName": index.name,
                "KeySchema": [{"AttributeName": n, "KeyType": t} for n, t in index.key_schema],
                "Projection": index.projection,
            }
            for index in table.local_indexes
        ]
    if table.stream_view_type:
        request["StreamSpecification"] = {
            "StreamEnabled": True,
            "StreamViewType": table.stream_view_type,
        }
    return request


class LocalDynamoDB:
    """Lifecycle of the moto subprocess. ``await start(tables)``, then ``endpoint``."""

    def __init__(self, *, region: str) -> None:
        self.region = region
        self.endpoint: str | None = None
        self._process: asyncio.subprocess.Process | None = None

    async def start(self, tables: list[TableSpec]) -> None:
        """Start moto and create ``tables``; raises :class:`DynamoDBError` on failure."""
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _SERVER,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        assert self._process.stdout is not None
        try:
            line = await asyncio.wait_for(self._process.stdout.readline(), 30)
            port = int(line)
        except (asyncio.TimeoutError, ValueError) as exc:
            await self.stop()
            raise DynamoDBError(f"the moto server did not start: {exc!r}") from exc
        self.endpoint = f"http://127.0.0.1:{port}"
        try:
            await asyncio.to_thread(self._create_tables, tables)
        except Exception as exc:
            await self.stop()
            raise DynamoDBError(f"cannot create tables: {exc}") from exc

    def client(self) -> Any:
        """A boto3 DynamoDB client on the local endpoint (for tests and table setup)."""
        import boto3  # only the emulator process needs it, and only once moto runs

        return boto3.client(
            "dynamodb",
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    def _create_tables(self, tables: list[TableSpec]) -> None:
        if not tables:
            return
        client = self.client()
        for table in tables:
            client.create_table(**create_table_request(table))
            if table.ttl_attribute:
                client.update_time_to_live(
                    TableName=table.name,
                    TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute},
                )

    def environment(self) -> dict[str, str]:
        """Variables that point a worker's boto3 at this server."""
        env = dict(FAKE_CREDENTIALS)
        if self.endpoint:
            # Every service defaults to moto, so no handler call can reach the internet.
            env["AWS_ENDPOINT_URL"] = self.endpoint
            env["AWS_ENDPOINT_URL_DYNAMODB"] = self.endpoint
            env["AWS_ENDPOINT_URL_DYNAMODBSTREAMS"] = self.endpoint
        return env

    async def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        assert process.stdin is not None
        process.stdin.close()  # moto exits on EOF
        try:
            await asyncio.wait_for(process.wait(), 5)
        except asyncio.TimeoutError:
            process.kill()
            await process.wait()
