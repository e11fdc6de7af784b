"""The embedded DynamoDB: a moto server subprocess on 127.0.0.1 and the template's tables.

moto runs in its own process (not a thread) so its request handling does not compete with the
gateway's event loop for the GIL, and it exits when its stdin reaches EOF, so it dies with the
emulator even on SIGKILL. Tables are created with their key schema, GSIs/LSIs, streams and
TTL; workers get ``AWS_ENDPOINT_URL_DYNAMODB`` and fake credentials (see
:meth:`LocalDynamoDB.environment`; the emulator replaces them with each function's own). With
``iam`` set, moto's WSGI app is wrapped by :func:`.iam.wsgi.guarded`, which decides each
function's calls first; its denial reports (stdout lines) go to ``on_output``.

moto costs ~80 MiB, so it starts on first use: :meth:`LocalDynamoDB.open` only binds the
endpoint's listening socket (its port is known at once, for the banner and the workers'
environment) and watches it. The first incoming connection (a handler's or a test's boto3
call) starts the moto process, which inherits that socket: the kernel holds the pending
connections in the backlog while moto imports (1-2 s, the first DynamoDB call's latency), and
moto creates the tables on a private port before it serves the shared socket, so no call can
see a table missing. A stack whose handlers never touch DynamoDB never starts moto. A failure
to start is logged and closes the socket, so callers get a connection error at once.
:meth:`LocalDynamoDB.start` starts moto right away (no laziness). The start is recorded in
:data:`.startups.STARTUPS`, so the handler waiting for it is not charged with it against
its ``Timeout`` (see :mod:`.workers`).

A re-synthesized app (``--watch``) brings its new tables and resources with
:meth:`LocalDynamoDB.add` (created through moto's endpoint when it runs, by its boot when it
has not started) and its permissions with :meth:`LocalDynamoDB.configure_iam`: one JSON line
on moto's stdin, answered by one :data:`CONFIGURED` line on its stdout.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .exceptions import DynamoDBError
from .specs import ResourceSpec, TableSpec
from .startups import STARTUPS

__all__ = ["FAKE_CREDENTIALS", "LocalDynamoDB", "create_table_request"]

logger = logging.getLogger("cdk_ws_api.local")

#: Credentials every worker gets; moto accepts any, and no real key can leak to a handler.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "AKIALOCALEMULATOR000",
    "AWS_SECRET_ACCESS_KEY": "local-emulator-secret",
    "AWS_SESSION_TOKEN": "local-emulator-session",
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
}

_SERVER = """
import json, logging, sys, threading
logging.getLogger("werkzeug").setLevel(logging.ERROR)
from werkzeug.serving import make_server
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication, MotoRequestHandler, create_backend_app)
fd, region = int(sys.argv[1]), sys.argv[2]
setup = json.loads(sys.stdin.readline())
tables, resources, iam = setup["tables"], setup["resources"], setup.get("iam")
app = DomainDispatcherApplication(create_backend_app)
if iam:  # the emulator's IAM check in front of moto (cdk_ws_api/local/iam/wsgi.py)
    from cdk_ws_api.local.iam.wsgi import guarded
    app = guarded(app, iam)

def serve(**where):
    server = make_server(app=app, threaded=True, request_handler=MotoRequestHandler, **where)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server

if tables or resources:
    # On a private port first: the shared socket is served only once every table exists.
    private = serve(host="127.0.0.1", port=0)
    import boto3, urllib.request
    from botocore import xform_name
    url = "http://127.0.0.1:%d" % private.server_port
    def client_for(service):
        return boto3.client(service, endpoint_url=url, region_name=region,
                            aws_access_key_id="x", aws_secret_access_key="x")
    client = client_for("dynamodb")
    if resources:
        # Step Functions executions run their state machine (StartSyncExecution needs it).
        urllib.request.urlopen(urllib.request.Request(
            url + "/moto-api/config", method="POST",
            data=json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode()))
    try:
        for resource in resources:  # queues, buses, state machines, streams
            getattr(client_for(resource["service"]), xform_name(resource["operation"]))(
                **resource["params"])
        for table in tables:
            client.create_table(**table["create"])
            if table["ttl"]:
                client.update_time_to_live(TableName=table["create"]["TableName"],
                    TimeToLiveSpecification={"Enabled": True, "AttributeName": table["ttl"]})
    except Exception as exc:
        print("error: cannot create tables or resources: %s" % exc, flush=True)
        sys.exit(1)
    private.shutdown()
server = serve(host="127.0.0.1", port=0, fd=fd)
print("ready", flush=True)
for line in sys.stdin:  # one JSON message a line, until EOF (the emulator stops or dies)
    message = json.loads(line)
    if "iam" in message and iam:  # a re-synthesized app's permissions (--watch)
        app.configure(message["iam"])
    print(CONFIGURED, flush=True)
server.shutdown()
"""
#: moto's answer line to each configuration message (see :meth:`LocalDynamoDB.configure_iam`).
CONFIGURED = "configured"
_SERVER = _SERVER.replace("CONFIGURED", repr(CONFIGURED))

#: How long moto may take to import and create the tables.
START_TIMEOUT = 60.0


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
    """Lifecycle of the moto subprocess: ``await open(tables)`` (lazy) or
    ``await start(tables)``, then ``endpoint``; :attr:`started` tells whether moto runs."""

    def __init__(
        self,
        *,
        region: str,
        iam: Mapping[str, Any] | None = None,
        on_output: Callable[[str], None] | None = None,
    ) -> None:
        self.region = region
        #: The IAM guard's configuration for the moto process (see :mod:`.iam.wsgi`), and
        #: where moto's output lines (its denial reports) go once it serves.
        self.iam = iam
        self.on_output = on_output
        self._pump: asyncio.Task[None] | None = None
        self.endpoint: str | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._socket: socket.socket | None = None
        self._tables: list[TableSpec] = []
        self._resources: list[ResourceSpec] = []
        self._starting: asyncio.Task[None] | None = None
        self._watched = False
        #: Seconds added to moto's start (a slow, loaded machine in tests); 0 in normal use.
        self.boot_delay = 0.0
        #: Set by the moto process's answer to each :meth:`configure_iam` message.
        self._configured: asyncio.Queue[None] = asyncio.Queue()

    @property
    def started(self) -> bool:
        """Whether the moto process runs."""
        return self._process is not None and self._process.returncode is None

    async def open(self, tables: list[TableSpec], resources: Sequence[ResourceSpec] = ()) -> None:
        """Bind the endpoint; moto starts on the first connection to it. ``resources``
        (queues, buses, state machines, streams) are created with the tables."""
        self._tables = list(tables)
        self._resources = list(resources)
        self._socket = socket.create_server(("127.0.0.1", 0), backlog=1024)
        self._socket.setblocking(False)
        self.endpoint = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        asyncio.get_running_loop().add_reader(self._socket.fileno(), self._first_connection)
        self._watched = True

    async def start(self, tables: list[TableSpec]) -> None:
        """Start moto and create ``tables`` now; raises :class:`DynamoDBError` on failure."""
        await self.open(tables)
        await self.ensure_started()

    def _unwatch(self) -> None:
        if self._watched and self._socket is not None:
            asyncio.get_running_loop().remove_reader(self._socket.fileno())
        self._watched = False

    def _first_connection(self) -> None:
        self._unwatch()  # never accepted here: moto accepts it once it serves the socket
        task = asyncio.get_running_loop().create_task(self.ensure_started())
        task.add_done_callback(_log_failure)

    async def ensure_started(self) -> None:
        """Start moto on the bound socket unless it runs; raises :class:`DynamoDBError`."""
        if self._starting is None:
            self._starting = asyncio.ensure_future(self._spawn())
        await asyncio.shield(self._starting)

    async def _spawn(self) -> None:
        self._unwatch()
        if self._socket is None:
            raise DynamoDBError("the DynamoDB endpoint is closed")
        # The handler whose call started moto is not charged with this wait (see .startups).
        span = STARTUPS.begin()
        try:
            await self._boot(self._socket)
        finally:
            STARTUPS.end(span)

    async def _boot(self, listening: socket.socket) -> None:
        if self.boot_delay:
            await asyncio.sleep(self.boot_delay)
            if listening.fileno() < 0:
                raise DynamoDBError("the DynamoDB endpoint is closed")
        fd = listening.fileno()
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _SERVER,
            str(fd),
            self.region,
            pass_fds=(fd,),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        assert self._process.stdin is not None and self._process.stdout is not None
        tables = [{"create": create_table_request(t), "ttl": t.ttl_attribute} for t in self._tables]
        resources = [
            {"service": r.service, "operation": r.operation, "params": dict(r.params)}
            for r in self._resources
        ]
        setup = {"tables": tables, "resources": resources, "iam": self.iam}
        self._process.stdin.write(json.dumps(setup).encode() + b"\n")
        try:
            line = await asyncio.wait_for(self._process.stdout.readline(), START_TIMEOUT)
        except asyncio.TimeoutError:
            line = b"error: timed out"
        if line.strip() != b"ready":
            await self.stop()
            reason = line.decode(errors="replace").strip() or "it exited"
            raise DynamoDBError(f"the moto server did not start: {reason}")
        # moto holds the socket now; the emulator's copy is not needed any more.
        listening.close()
        self._socket = None
        # Keep reading moto's stdout: its denial reports must not fill the pipe.
        self._pump = asyncio.ensure_future(self._read_output(self._process.stdout))

    async def _read_output(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            text = line.decode(errors="replace").rstrip("\n")
            if text == CONFIGURED:
                self._configured.put_nowait(None)
            elif self.on_output is not None:
                self.on_output(text)

    async def add(
        self, tables: Sequence[TableSpec], resources: Sequence[ResourceSpec]
    ) -> list[str]:
        """Create the tables and resources of ``tables``/``resources`` that do not exist yet
        (a re-synthesized app under ``--watch``); existing ones keep their items, and ones the
        app dropped are kept too (a later version may bring them back). Opens the endpoint
        when it is not open. Returns the names created. Raises :class:`DynamoDBError`."""
        known = {t.name for t in self._tables}
        new_tables = [t for t in tables if t.name not in known]
        seen = {_resource_key(r) for r in self._resources}
        new_resources = [r for r in resources if _resource_key(r) not in seen]
        names = [*(f"{r.service}:{r.name}" for r in new_resources), *(t.name for t in new_tables)]
        if self.endpoint is None:
            await self.open(list(tables), resources)
            return names
        self._tables += new_tables
        self._resources += new_resources
        if self.started and (new_tables or new_resources):
            # moto serves already: create them now, through its endpoint (boto3 blocks).
            await asyncio.to_thread(self._create, new_tables, new_resources)
        # Not started yet: the boot creates the whole list (see _SERVER).
        return names

    def _create(self, tables: Sequence[TableSpec], resources: Sequence[ResourceSpec]) -> None:
        from botocore import xform_name

        try:
            for resource in resources:
                client = self.client(resource.service)
                getattr(client, xform_name(resource.operation))(**dict(resource.params))
            client = self.client()
            for table in tables:
                client.create_table(**create_table_request(table))
                if table.ttl_attribute:
                    client.update_time_to_live(
                        TableName=table.name,
                        TimeToLiveSpecification={
                            "Enabled": True,
                            "AttributeName": table.ttl_attribute,
                        },
                    )
        except Exception as exc:
            raise DynamoDBError(f"cannot create tables or resources: {exc}") from exc

    async def configure_iam(self, config: Mapping[str, Any] | None) -> None:
        """Send the IAM guard's new configuration to moto (it checks calls with it once this
        returns); before moto starts, the boot takes it."""
        self.iam = config
        process = self._process
        if config is None or process is None or process.returncode is not None:
            return
        assert process.stdin is not None
        process.stdin.write(json.dumps({"iam": config}).encode() + b"\n")
        await process.stdin.drain()
        await asyncio.wait_for(self._configured.get(), START_TIMEOUT)

    def client(self, service: str = "dynamodb") -> Any:
        """A boto3 client of ``service`` (DynamoDB by default) on the local endpoint (for tests,
        table setup and the tables a re-synthesized app adds)."""
        import boto3  # only the emulator process needs it, and only once moto runs

        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
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
        self._unwatch()
        if self._socket is not None:
            self._socket.close()  # pending and later connections are refused
            self._socket = None
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        pump, self._pump = self._pump, None
        assert process.stdin is not None
        process.stdin.close()  # moto exits on EOF
        try:
            await asyncio.wait_for(process.wait(), 5)
        except asyncio.TimeoutError:
            process.kill()
            await process.wait()
        if pump is not None:
            await asyncio.wait([pump], timeout=5)


def _resource_key(resource: ResourceSpec) -> tuple[str, str]:
    # By name: a resource whose attributes changed is not created twice (moto would refuse).
    return (resource.service, resource.name or resource.logical_id)


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("DynamoDB endpoint: %s", task.exception())
