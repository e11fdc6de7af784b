"""End to end: the emulator enforces each function's IAM grants as AWS does (issue 14).

``iam_stack/stack_app.py`` is a plain aws-cdk-lib stack whose functions differ only in their
grants; each route runs the same probe, which calls ``@connections`` with plain boto3 and
the connection store (``lambda_runtime.ConnectionStore``) and answers what each call got.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import synth
from websockets.sync.client import ClientConnection

from cdk_ws_api.testing import LocalProcess, run_local

pytestmark = pytest.mark.timeout(300)

APP = Path(__file__).resolve().parent / "iam_stack" / "stack_app.py"
ACCOUNT, REGION = "123456789012", "us-east-1"
ALL = ["post", "get", "store_put", "store_get"]


@pytest.fixture(scope="module")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synth(APP, tmp_path_factory.mktemp("iam-cdk-out"))


def serve(assembly: Path, mode: str) -> LocalProcess:
    return run_local(["--assembly", str(assembly), "--stage", "dev", "--iam", mode])


@pytest.fixture(scope="module")
def enforce(assembly: Path) -> Iterator[LocalProcess]:
    emulator = serve(assembly, "enforce")
    yield emulator
    assert emulator.stop() == 0


def probe(ws: ClientConnection, route: str, calls: list[str]) -> tuple[dict[str, Any], list[str]]:
    """Send ``route``'s probe; returns its answer and the messages posted to us before it."""
    ws.send(json.dumps({"action": route, "do": calls}))
    posted: list[str] = []
    while True:
        message = ws.recv(timeout=60)
        assert isinstance(message, str)
        if message.startswith('{"results"'):
            return json.loads(message), posted
        posted.append(message)


def role_name(assembly: Path, function: str) -> str:
    """The local role name of ``function``'s execution role (``{stack}-{role logical id}``)."""
    template = json.loads((assembly / "IamStack.template.json").read_text())
    resources = template["Resources"]
    logical = next(
        lid
        for lid, r in resources.items()
        if r["Type"] == "AWS::Lambda::Function" and f"IamStack-{lid}" == function
    )
    role = resources[logical]["Properties"]["Role"]["Fn::GetAtt"][0]
    return f"IamStack-{role}"


def denied_message(assembly: Path, answer: dict[str, Any], action: str, resource: str) -> str:
    function = answer["function"]
    return (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/{role_name(assembly, function)}/{function} "
        f"is not authorized to perform: {action} on resource: {resource} because no "
        f"identity-based policy allows the {action} action"
    )


def connections_arn(answer: dict[str, Any], method: str) -> str:
    return (
        f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{answer['apiId']}/dev/{method}/@connections/"
        f"{answer['connectionId']}"
    )


def target_arn(assembly: Path) -> str:
    template = json.loads((assembly / "IamStack.template.json").read_text())
    logical = next(
        lid
        for lid, resource in template["Resources"].items()
        if lid.startswith("Target") and resource["Type"] == "AWS::Lambda::Function"
    )
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:IamStack-{logical}"


def store_table(emulator: LocalProcess) -> Any:
    """The stack's one ``Store…`` table (its local name is ``{stack}-Store…``)."""
    names = [
        t.name
        for t in emulator.dynamodb.tables.all()
        if t.name.split("-", 1)[-1].startswith("Store")
    ]
    assert len(names) == 1, names
    return emulator.dynamodb.Table(names[0])


def table_arn(emulator: LocalProcess) -> str:
    return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{store_table(emulator).name}"


def test_granted_function_makes_every_call(enforce: LocalProcess) -> None:
    with enforce.connect() as ws:
        answer, posted = probe(ws, "granted", [*ALL, "invoke"])
    assert answer["results"] == {name: None for name in [*ALL, "invoke"]}
    assert posted == ["posted"]


def test_invoke_without_grant_invoke_is_lambda_s_access_denied(
    enforce: LocalProcess, assembly: Path
) -> None:
    with enforce.connect() as ws:
        answer, _ = probe(ws, "nogrant", ["invoke"])
    invoke = answer["results"]["invoke"]
    assert (invoke["code"], invoke["status"]) == ("AccessDeniedException", 403)
    assert invoke["message"] == denied_message(
        assembly, answer, "lambda:InvokeFunction", target_arn(assembly)
    )
    enforce.wait_for_log(r"IAM denied NoGrant: lambda:InvokeFunction .*function\.grant_invoke")


def test_missing_manage_connections_grant_is_aws_s_access_denied(
    enforce: LocalProcess, assembly: Path
) -> None:
    # GIVEN a function with the table grant and no grantManageConnections
    with enforce.connect() as ws:
        answer, posted = probe(ws, "nogrant", ALL)
    # THEN post_to_connection fails as on AWS: 403 AccessDeniedException, AWS's message
    post = answer["results"]["post"]
    assert (post["type"], post["code"], post["status"]) == (
        "ClientError",
        "AccessDeniedException",
        403,
    )
    assert post["message"] == denied_message(
        assembly, answer, "execute-api:ManageConnections", connections_arn(answer, "POST")
    )
    assert answer["results"]["get"]["message"] == denied_message(
        assembly, answer, "execute-api:ManageConnections", connections_arn(answer, "GET")
    )
    assert posted == []  # nothing was delivered
    assert answer["results"]["store_put"] is None  # the table grant still works
    # AND the emulator's log names the missing grant
    enforce.wait_for_log(
        re.escape(
            f"IAM denied NoGrant: execute-api:ManageConnections on "
            f"{connections_arn(answer, 'POST')}: "
            "give NoGrant `api.grant_manage_connections(NoGrant)`"
        )
    )


def test_a_grant_on_another_stage_or_on_get_only_does_not_allow_post(enforce: LocalProcess) -> None:
    with enforce.connect() as ws:
        other, _ = probe(ws, "otherstage", ["post", "get"])
        get_only, posted = probe(ws, "getonly", ["post", "get"])
    assert other["results"]["post"]["code"] == "AccessDeniedException"
    assert other["results"]["get"]["code"] == "AccessDeniedException"
    assert get_only["results"]["post"]["code"] == "AccessDeniedException"
    assert get_only["results"]["get"] is None
    assert posted == []
    enforce.wait_for_log(r"IAM denied OtherStage: .*its ManageConnections grant covers other")


def test_without_the_table_grant_the_store_calls_fail(
    enforce: LocalProcess, assembly: Path
) -> None:
    with enforce.connect() as ws:
        answer, posted = probe(ws, "notable", ALL)
    assert answer["results"]["post"] is None and posted == ["posted"]
    put, get = answer["results"]["store_put"], answer["results"]["store_get"]
    # DynamoDB's own answer: JSON AccessDeniedException, 400, through the store's typed error
    assert (put["type"], put["code"], put["status"]) == (
        "ConnectionStoreError",
        "AccessDeniedException",
        400,
    )
    assert put["message"].endswith(
        denied_message(assembly, answer, "dynamodb:PutItem", table_arn(enforce))
    )
    assert get["code"] == "AccessDeniedException"
    assert "dynamodb:GetItem" in get["message"]
    enforce.wait_for_log(
        r"IAM denied NoTable: dynamodb:PutItem on .*`Store\.grant_write_data\(NoTable\)`"
    )
    # nothing was written
    assert (
        store_table(enforce).get_item(Key={"connectionId": answer["connectionId"]}).get("Item")
        is None
    )


def test_deny_wins_over_allow(enforce: LocalProcess, assembly: Path) -> None:
    with enforce.connect() as ws:
        answer, _ = probe(ws, "denied", ALL)
    put = answer["results"]["store_put"]
    assert put["code"] == "AccessDeniedException"
    function = answer["function"]
    assert put["message"].endswith(
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/{role_name(assembly, function)}/{function} "
        f"is not authorized to perform: dynamodb:PutItem on resource: {table_arn(enforce)} "
        "with an explicit deny in an identity-based policy"
    )
    assert answer["results"]["store_get"] is None  # the Allow still covers GetItem
    assert answer["results"]["post"] is None
    enforce.wait_for_log(r"IAM denied Denied: dynamodb:PutItem .*remove or narrow the Deny")


def test_the_developer_s_own_clients_are_not_checked(enforce: LocalProcess) -> None:
    # A test's boto3 (not a function's credentials) reads and writes freely.
    table = store_table(enforce)
    table.put_item(Item={"connectionId": "from-the-test"})
    assert table.get_item(Key={"connectionId": "from-the-test"})["Item"]


def test_warn_serves_the_call_and_logs_the_denial(assembly: Path) -> None:
    emulator = serve(assembly, "warn")
    try:
        with emulator.connect() as ws:
            answer, posted = probe(ws, "nogrant", ["post"])
            notable, _ = probe(ws, "notable", ["store_put"])
        assert answer["results"]["post"] is None and posted == ["posted"]
        assert notable["results"]["store_put"] is None
        emulator.wait_for_log(r"IAM would deny \(--iam warn: allowed\) NoGrant: execute-api")
        emulator.wait_for_log(r"IAM would deny \(--iam warn: allowed\) NoTable: dynamodb:PutItem")
    finally:
        assert emulator.stop() == 0


def test_off_is_today_s_behaviour(assembly: Path) -> None:
    emulator = serve(assembly, "off")
    try:
        with emulator.connect() as ws:
            answer, posted = probe(ws, "nogrant", ["post"])
            notable, _ = probe(ws, "notable", ["store_put", "store_get"])
        assert answer["results"]["post"] is None and posted == ["posted"]
        assert notable["results"] == {"store_put": None, "store_get": None}
        assert "IAM " not in emulator.log.split("ready", 1)[1]
    finally:
        assert emulator.stop() == 0
