"""The Lambda Invoke API on the emulator's port, through real boto3, on a two-stack app: the
API in ``WsStack``; a notifier (``grant_manage_connections``, cross-stack imports), a relay that
invokes it and a failing function in ``NotifierStack``. And ``cdk-ws-api local invoke``."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from e2e_helpers import ROOT, recv_json

from cdk_ws_api.local.synth import synthesize
from cdk_ws_api.testing import LocalApi, serve

pytestmark = pytest.mark.timeout(240)

TWO_STACKS = Path(__file__).resolve().parent / "two_stacks"


@pytest.fixture(scope="module")
def two_stacks_assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("two-stacks-cdk-out")
    return synthesize(f"{sys.executable} app.py", out, cwd=TWO_STACKS)


@pytest.fixture(scope="module")
def served(two_stacks_assembly: Path) -> Iterator[LocalApi]:
    with serve(two_stacks_assembly) as api:
        yield api


def _lambda(emulator: LocalApi) -> Any:
    return boto3.client(
        "lambda",
        endpoint_url=emulator.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"max_attempts": 1}),
    )


def _payload(answer: dict[str, Any]) -> Any:
    return json.loads(answer["Payload"].read())


def test_the_notifier_of_another_stack_posts_to_a_connected_client(served: LocalApi) -> None:
    client = _lambda(served)
    with served.connect() as ws:
        ws.send(json.dumps({"action": "whoami"}))
        me = recv_json(ws)["connectionId"]
        for name in (
            "NotifierStack-NotifierDFD80165",  # its name
            "arn:aws:lambda:us-east-1:123456789012:function:NotifierStack-NotifierDFD80165",
            "NotifierStack/NotifierDFD80165",  # Stack/LogicalId
            "NotifierStack/Notifier",  # construct path
            "Notifier",  # construct path without the stack
        ):
            answer = client.invoke(
                FunctionName=name, Payload=json.dumps({"n": name}).encode(), LogType="Tail"
            )
            assert answer["StatusCode"] == 200 and "FunctionError" not in answer
            assert answer["ExecutedVersion"] == "$LATEST"
            assert _payload(answer)["notified"] == [me]
            assert recv_json(ws) == {"n": name}
            log = base64.b64decode(answer["LogResult"]).decode()
            assert log.startswith("START RequestId: ")
            assert "notified 1 connection(s) via http://127.0.0.1:" in log  # import localized
            assert "\nEND RequestId: " in log and "\nREPORT RequestId: " in log


def test_a_function_invokes_another_through_aws_endpoint_url_lambda(served: LocalApi) -> None:
    with served.connect() as ws:
        answer = _lambda(served).invoke(FunctionName="Relay", Payload=json.dumps({"x": 1}).encode())
        relayed = _payload(answer)
        assert relayed["status"] == 200 and len(relayed["payload"]["notified"]) == 1
        assert recv_json(ws) == {"relayed": {"x": 1}}


def test_event_and_dry_run(served: LocalApi) -> None:
    client = _lambda(served)
    with served.connect() as ws:
        answer = client.invoke(
            FunctionName="Notifier", InvocationType="Event", Payload=b'{"async": true}'
        )
        assert answer["StatusCode"] == 202 and answer["Payload"].read() == b""
        assert recv_json(ws) == {"async": True}  # it ran in the background
        dry = client.invoke(FunctionName="Notifier", InvocationType="DryRun")
        assert dry["StatusCode"] == 204
        with pytest.raises(TimeoutError):
            ws.recv(timeout=1)  # a dry run runs nothing


def test_unknown_functions_and_qualifiers_are_resource_not_found(served: LocalApi) -> None:
    client = _lambda(served)
    for kwargs in (
        {"FunctionName": "Nope"},
        {"FunctionName": "Nope", "InvocationType": "DryRun"},
        {"FunctionName": "Notifier", "Qualifier": "prod"},
        {"FunctionName": "NotifierStack-NotifierDFD80165:7"},
    ):
        with pytest.raises(client.exceptions.ResourceNotFoundException) as info:
            client.invoke(**kwargs)
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
        assert "Function not found: arn:aws:lambda:us-east-1:123456789012:function:" in str(
            info.value
        )
    assert client.invoke(FunctionName="Failing", Qualifier="$LATEST")["StatusCode"] == 200


@pytest.mark.parametrize(
    ("how", "error_type", "message"),
    [
        ("raise", "ValueError", "asked to fail"),
        ("timeout", "Sandbox.Timedout", "Task timed out after 3.00 seconds"),
        ("exit", "Runtime.ExitError", "exited"),
        ("unserializable", "Runtime.MarshalError", "not JSON serializable"),
    ],
)
def test_function_errors_have_x_amz_function_error_and_lambdas_payload(
    served: LocalApi, how: str, error_type: str, message: str
) -> None:
    answer = _lambda(served).invoke(
        FunctionName="Failing", Payload=json.dumps({"fail": how}).encode(), LogType="Tail"
    )
    assert answer["StatusCode"] == 200
    assert answer["FunctionError"] == "Unhandled"
    payload = _payload(answer)
    assert payload["errorType"] == error_type and message in payload["errorMessage"]
    if how == "raise":
        assert any("failing.py" in frame for frame in payload["stackTrace"])
        assert payload["requestId"] == answer["ResponseMetadata"]["RequestId"]
    assert f"failing: {how}" in base64.b64decode(answer["LogResult"]).decode()


def test_bad_requests_get_aws_errors(served: LocalApi) -> None:
    client = _lambda(served)
    with pytest.raises(client.exceptions.InvalidRequestContentException):
        client.invoke(FunctionName="Failing", Payload=b"{not json")
    with pytest.raises(ClientError) as info:
        client.list_functions()
    assert info.value.response["Error"]["Code"] == "NotImplemented"
    assert "except Invoke" in info.value.response["Error"]["Message"]


def test_client_context_reaches_the_handler(served: LocalApi) -> None:
    context = {"custom": {"who": "test"}}
    answer = _lambda(served).invoke(
        FunctionName="Notifier",
        ClientContext=base64.b64encode(json.dumps(context).encode()).decode(),
    )
    assert _payload(answer)["clientContext"] == context


def _cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cdk_ws_api", "local", "invoke", *args],
        cwd=str(ROOT),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_cli_invokes_through_the_running_emulator(served: LocalApi, tmp_path: Path) -> None:
    port = served.ws_url.split(":")[2].split("/")[0]
    event = tmp_path / "event.json"
    event.write_text('{"from": "cli"}')
    with served.connect() as ws:
        done = _cli("Notifier", "--event", str(event), "--port", port)
        assert done.returncode == 0, done.stderr
        assert len(json.loads(done.stdout)["notified"]) == 1
        assert recv_json(ws) == {"from": "cli"}  # the running emulator's client got it
        assert "notified 1 connection(s)" in done.stderr and "START RequestId" in done.stderr
    failed = _cli("Failing", "--event", "-", "--port", port, stdin='{"fail": "raise"}')
    assert failed.returncode == 1 and json.loads(failed.stdout)["errorType"] == "ValueError"
    missing = _cli("Nope", "--port", port)
    assert missing.returncode == 2 and "ResourceNotFoundException" in missing.stderr


def test_cli_invokes_standalone(two_stacks_assembly: Path, tmp_path: Path) -> None:
    # No emulator on that port: it serves the assembly for this one call, then stops.
    done = _cli(
        "Failing",
        "--event",
        "-",
        "--assembly",
        str(two_stacks_assembly),
        "--port",
        "1",
        stdin='{"hello": 1}',
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"ok": True, "event": {"hello": 1}}
    assert "failing: None" in done.stderr
    bad = _cli("Failing", "--event", str(tmp_path / "missing.json"), "--port", "1")
    assert bad.returncode == 2 and "missing.json" in bad.stderr
