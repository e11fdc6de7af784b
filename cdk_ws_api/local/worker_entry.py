"""The program run inside each worker process: a tiny Lambda runtime for one function.

Started as ``python worker_entry.py FD`` where ``FD`` is the worker's end of a socketpair;
requests and responses travel on it as 4-byte big-endian length + JSON, never on stdout, so
the handler may print freely (the parent streams stdout/stderr to its log). A request with
``"mark": true`` (the parent collects that invocation's output, for the Invoke API's
``LogType: Tail``) is followed by :data:`END_MARK` + request id on stdout and on stderr once the
handler returned, so the parent knows when it has read every line the invocation wrote.

On start it imports ``_HANDLER`` once (from ``LAMBDA_TASK_ROOT`` and the layers on
``PYTHONPATH``) and answers ``{"ready": true}`` or the import error. Each request
``{"event", "request_id", "deadline_ms"}`` gets ``{"ok": true, "result"}`` or
``{"ok": false, "errorType", "errorMessage", "stackTrace"}``. EOF on the socket (the emulator
went away) ends the process, so workers never outlive the emulator.

It also registers a botocore hook (``CDK_WS_API_LOCAL_REWRITES``: JSON map of host → local
base URL) that sends ``apigatewaymanagementapi`` requests addressed to the API's AWS domain
(``{api}.execute-api.{region}.amazonaws.com``) or to ``https://HOST:PORT`` (built from the
event's ``domainName``) to the emulator's plain-HTTP ``@connections`` endpoint: handlers keep
their unchanged boto3 code. The ``"*"`` entry receives any other ``*.amazonaws.com`` host, so
no ``@connections`` call ever leaves the machine. The hook is added when the handler first
imports ``botocore.handlers`` (an import hook; botocore is never imported here), so a handler
without boto3 does not pay botocore's ~20 MiB. Only the standard library is used.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import json
import os
import socket
import struct
import sys
import time
import traceback
from collections.abc import Callable
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

__all__ = ["LambdaContext", "main"]

_HEADER = struct.Struct(">I")
#: Environment of a worker set by its parent (``workers.py``, ``emulator.py``): the function's
#: ARN (``context.invoked_function_arn``) and the JSON host → local base URL map of the hook.
FUNCTION_ARN_ENV = "CDK_WS_API_LOCAL_FUNCTION_ARN"
REWRITES_ENV = "CDK_WS_API_LOCAL_REWRITES"
_HERE = os.path.dirname(os.path.abspath(__file__))
#: Starts the line ending an invocation's output (see the module docstring); a record
#: separator no handler prints by accident. The parent reads it from here.
END_MARK = "\x1ecdk-ws-api-end "


class LambdaContext:
    """The subset of the Lambda context object handlers use."""

    def __init__(self, request_id: str, deadline_ms: int, client_context: Any = None) -> None:
        self.aws_request_id = request_id
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.invoked_function_arn = os.environ.get(FUNCTION_ARN_ENV, "")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        #: The Invoke API's ``X-Amz-Client-Context`` (decoded JSON), else ``None``.
        self.client_context = client_context
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def _recv_exact(sock: socket.socket, size: int) -> bytes | None:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            return None
        chunks.extend(chunk)
    return bytes(chunks)


def _recv(sock: socket.socket) -> Any:
    header = _recv_exact(sock, _HEADER.size)
    if header is None:
        return None
    body = _recv_exact(sock, _HEADER.unpack(header)[0])
    return None if body is None else json.loads(body)


def _send(sock: socket.socket, message: Any) -> None:
    body = json.dumps(message).encode()
    sock.sendall(_HEADER.pack(len(body)) + body)


def _error(exc: BaseException) -> dict[str, Any]:
    return {
        "ok": False,
        "errorType": type(exc).__name__,
        "errorMessage": str(exc),
        # Lambda's Python runtime sends the frames only (no "Traceback" header, no last line).
        "stackTrace": traceback.format_list(traceback.extract_tb(exc.__traceback__)),
    }


class _AfterImport(importlib.abc.MetaPathFinder):
    """Runs ``callback(module)`` right after ``name`` is first imported, without importing
    it here: botocore costs a worker ~20 MiB, which a handler without boto3 never pays."""

    def __init__(self, name: str, callback: Callable[[ModuleType], None]) -> None:
        self._name = name
        self._callback = callback

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname != self._name:
            return None
        sys.meta_path.remove(self)  # once only, and no recursion into the search below
        spec = importlib.util.find_spec(fullname)
        loader = getattr(spec, "loader", None)
        if spec is None or loader is None or not hasattr(loader, "exec_module"):
            return spec
        execute, callback = loader.exec_module, self._callback

        def exec_module(module: ModuleType) -> None:
            execute(module)
            callback(module)

        loader.exec_module = exec_module  # the loader is this spec's own instance
        return spec


def _runtime_env() -> ModuleType:
    """``lambda_runtime/env.py`` of this installation, loaded by its path: it imports nothing,
    and the handler's own ``lambda_runtime`` (its layer, maybe another version) must not be
    imported before the handler is."""
    path = os.path.join(os.path.dirname(os.path.dirname(_HERE)), "lambda_runtime", "env.py")
    spec = importlib.util.spec_from_file_location("_cdk_ws_api_runtime_env", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _install_endpoint_rewrites(rewrites: dict[str, str]) -> None:
    if not rewrites:
        return
    fallback = rewrites.get("*")

    def moved(url: str) -> str:
        parts = urlsplit(url)
        host = parts.netloc.lower()
        base = rewrites.get(host)
        if base is None and host.endswith(".amazonaws.com"):
            base = fallback  # another API's @connections: answered locally, never sent out
        if base is None:
            return url
        return base + parts.path + (f"?{parts.query}" if parts.query else "")

    def rewrite(request: Any, **_: Any) -> None:
        request.url = moved(request.url)

    # How lambda_runtime's broadcast, which sends without botocore, learns where this hook
    # moves a URL: the attribute named by lambda_runtime.env.REWRITE_URL_ATTRIBUTE.
    setattr(rewrite, _runtime_env().REWRITE_URL_ATTRIBUTE, moved)

    def register(handlers: ModuleType) -> None:
        # Builtin handlers are registered on every botocore session, including ones the
        # handler creates itself, so no handler code has to change.
        handlers.BUILTIN_HANDLERS.append(("before-send.apigatewaymanagementapi", rewrite))

    loaded = sys.modules.get("botocore.handlers")
    if loaded is not None:
        register(loaded)
    else:  # registered when (if ever) the handler imports boto3
        sys.meta_path.insert(0, _AfterImport("botocore.handlers", register))


def _load_handler() -> Any:
    spec = os.environ["_HANDLER"]
    module_name, _, function_name = spec.rpartition(".")
    module = importlib.import_module(module_name.replace("/", "."))
    return getattr(module, function_name)


def main(argv: list[str]) -> int:
    # Running this file puts its own directory first on sys.path; a handler module named like
    # an emulator module (events.py, policy.py...) must win, as on Lambda.
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]
    task_root = os.environ.get("LAMBDA_TASK_ROOT")
    if task_root:
        os.chdir(task_root)
    sock = socket.socket(fileno=int(argv[1]))
    _install_endpoint_rewrites(json.loads(os.environ.pop(REWRITES_ENV, "{}")))
    try:
        handler = _load_handler()
    except BaseException as exc:  # report any import failure, SyntaxError and SystemExit too
        failure = _error(exc)
        failure["errorType"] = "Runtime.ImportModuleError"
        failure["errorMessage"] = f"Unable to import module {os.environ.get('_HANDLER')}: {exc}"
        _send(sock, {"ready": False, **failure})
        return 1
    _send(sock, {"ready": True})
    while True:
        request = _recv(sock)
        if request is None:
            return 0
        context = LambdaContext(
            request["request_id"], int(request["deadline_ms"]), request.get("client_context")
        )
        try:
            result = handler(request["event"], context)
            try:
                reply: dict[str, Any] = {"ok": True, "result": json.loads(json.dumps(result))}
            except (TypeError, ValueError) as exc:
                reply = _error(exc)
                reply["errorType"] = "Runtime.MarshalError"
        except Exception as exc:
            reply = _error(exc)
        sys.stdout.flush()
        sys.stderr.flush()
        if request.get("mark"):
            mark = f"{END_MARK}{request['request_id']}\n".encode()
            os.write(1, mark)
            os.write(2, mark)
        _send(sock, reply)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
