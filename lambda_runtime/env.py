"""Names that cross parts: the environment variables the cdk-ws-api constructs set on every
route handler, and the attribute of the local emulator's URL-moving hook.

This module is the single place these names are defined: the constructs (``cdk_ws_api``) and
the local emulator import them from here, and the runtime reads them at call time (never at
import time, so a test or the emulator can change them between invocations). It imports
nothing, so a worker process can import it without loading the rest of the runtime.

=====================================  ======================================================
Variable                               Meaning
=====================================  ======================================================
``WS_API_CONNECTION_TABLE``            Name of the DynamoDB connection table.
``WS_API_CONNECTION_TTL_ATTRIBUTE``    Name of the table's TTL attribute (epoch seconds).
``WS_API_CONNECTION_GROUP_INDEX``      Name of the GSI that groups connections (unset: none).
``WS_API_CONNECTION_GROUP_ATTRIBUTE``  Partition key attribute of that GSI.
``WS_API_MANAGEMENT_ENDPOINT``         ``@connections`` endpoint to use when the event's
                                       ``domainName`` is not an ``execute-api`` domain (a
                                       custom domain, or the local emulator).
=====================================  ======================================================
"""

from __future__ import annotations

__all__ = [
    "CONNECTION_GROUP_ATTRIBUTE",
    "CONNECTION_GROUP_INDEX",
    "CONNECTION_TABLE",
    "CONNECTION_TTL_ATTRIBUTE",
    "CONNECT_ROUTE",
    "DEFAULT_GROUP_ATTRIBUTE",
    "DEFAULT_GROUP_INDEX",
    "DEFAULT_ROUTE",
    "DEFAULT_TTL_ATTRIBUTE",
    "DISCONNECT_ROUTE",
    "FANOUT_CONCURRENCY",
    "FANOUT_MARKER_PREFIX",
    "FANOUT_QUEUE_URL",
    "FANOUT_RATE",
    "MANAGEMENT_ENDPOINT",
    "MESSAGE_BYTES",
    "PARTITION_KEY",
    "REWRITE_URL_ATTRIBUTE",
]

CONNECTION_TABLE = "WS_API_CONNECTION_TABLE"
CONNECTION_TTL_ATTRIBUTE = "WS_API_CONNECTION_TTL_ATTRIBUTE"
CONNECTION_GROUP_INDEX = "WS_API_CONNECTION_GROUP_INDEX"
CONNECTION_GROUP_ATTRIBUTE = "WS_API_CONNECTION_GROUP_ATTRIBUTE"
MANAGEMENT_ENDPOINT = "WS_API_MANAGEMENT_ENDPOINT"
FANOUT_QUEUE_URL = "WS_API_FANOUT_QUEUE_URL"
FANOUT_RATE = "WS_API_FANOUT_RATE"
FANOUT_CONCURRENCY = "WS_API_FANOUT_CONCURRENCY"

#: Key prefix of the fan-out's progress markers in the connection table (``lambda_runtime.
#: fanout``); ``ConnectionStore.ids()`` skips the items whose key starts with it. API Gateway's
#: connection ids are base64 (letters, digits, ``+/=``), so they never start with ``#``.
FANOUT_MARKER_PREFIX = "#fanout#"

#: API Gateway's predefined route keys (constructs, emulator and runtime router use these).
CONNECT_ROUTE = "$connect"
DISCONNECT_ROUTE = "$disconnect"
DEFAULT_ROUTE = "$default"

#: API Gateway's WebSocket message quota, also the ``PostToConnection`` ``Data`` maximum of the
#: service model: 128 KiB.
MESSAGE_BYTES = 128 * 1024

#: Partition key of every connection table (string attribute).
PARTITION_KEY = "connectionId"
#: Default TTL attribute name (number, epoch seconds).
DEFAULT_TTL_ATTRIBUTE = "expiresAt"
#: Default name of the grouping GSI and of its partition key attribute (string).
DEFAULT_GROUP_INDEX = "byGroup"
DEFAULT_GROUP_ATTRIBUTE = "groupId"

#: The attribute by which a botocore ``before-send`` hook that only moves requests to another
#: base URL (the local emulator's, ``cdk_ws_api/local/worker_entry.py``) says where it moves a
#: URL: a callable ``str -> str``. ``Connections.broadcast``'s fast path, which sends without
#: botocore, follows it instead of falling back to the client.
REWRITE_URL_ATTRIBUTE = "cdk_ws_api_rewrite_url"
