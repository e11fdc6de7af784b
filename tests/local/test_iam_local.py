"""The emulator's IAM seam (cdk_ws_api.local.iam.local): credentials per function, the
``@connections`` and Invoke checks, moto's denial reports, the event bus."""

from __future__ import annotations

import argparse
import json
import logging
from typing import Any

import pytest

from cdk_ws_api.local.bus import EventBus
from cdk_ws_api.local.exceptions import OptionError
from cdk_ws_api.local.iam.local import IamDenialRecord, LocalIam
from cdk_ws_api.local.iam.model import Identity, Permissions
from cdk_ws_api.local.iam.wsgi import DENIAL_PREFIX
from cdk_ws_api.local.options import EmulatorOptions, add_arguments

ACCOUNT, REGION, API_ID = "123456789012", "us-east-1", "abc123defg"
KEY = "ASIAPOSTERKEY0000000"
GRANT = {
    "Effect": "Allow",
    "Action": ["execute-api:ManageConnections", "lambda:InvokeFunction"],
    "Resource": [
        f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{API_ID}/dev/POST/@connections/*",
        f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:Stack-Worker",
    ],
}


def local_iam(mode: str = "enforce", bus: EventBus | None = None) -> LocalIam:
    identity = Identity(
        "PosterABCD1234",
        "Stack-PosterABCD1234",
        "Stack-Role",
        ACCOUNT,
        KEY,
        (("P", {"Statement": [GRANT]}),),
    )
    return LocalIam(
        Permissions({identity.logical_id: identity}),
        mode=mode,
        region=REGION,
        account=ACCOUNT,
        api_id=API_ID,
        bus=bus,
    )


def auth(key: str = KEY) -> str:
    return f"AWS4-HMAC-SHA256 Credential={key}/20261201/{REGION}/execute-api/aws4_request, x"


def test_each_function_gets_credentials_standing_for_its_role() -> None:
    iam = local_iam()
    credentials = iam.credentials("PosterABCD1234")
    assert credentials["AWS_ACCESS_KEY_ID"] == KEY
    assert credentials["AWS_SECRET_ACCESS_KEY"] and credentials["AWS_SESSION_TOKEN"].endswith(
        "assumed-role/Stack-Role/Stack-PosterABCD1234"
    )
    assert iam.credentials("NotInTheTemplate") == {}


def test_connections_check_builds_the_method_arn() -> None:
    iam = local_iam()
    assert iam.check_connections("POST", ["", "dev", "@connections", "c1="], auth()) is None
    status, headers, body = iam.check_connections("GET", ["", "dev", "@connections", "c1="], auth())
    assert (status, headers["x-amzn-ErrorType"]) == (403, "AccessDeniedException")
    assert json.loads(body)["Message"].endswith(
        f"execute-api:ManageConnections on resource: arn:aws:execute-api:{REGION}:{ACCOUNT}:"
        f"{API_ID}/dev/GET/@connections/c1= because no identity-based policy allows the "
        "execute-api:ManageConnections action"
    )
    # other stages' paths are API Gateway's 403 ForbiddenException, not an IAM matter
    assert iam.check_connections("POST", ["", "dev", "@connections"], auth()) is None


def test_invoke_check_in_lambda_s_shape() -> None:
    iam = local_iam()
    assert iam.check_invoke("Stack-Worker", auth()) is None
    assert (
        iam.check_invoke(f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:Stack-Worker", auth()) is None
    )
    status, headers, body = iam.check_invoke("Stack-Other", auth())
    assert (status, headers["x-amzn-ErrorType"], json.loads(body)["Type"]) == (
        403,
        "AccessDeniedException",
        "User",
    )
    assert "lambda:InvokeFunction on resource: arn:aws:lambda:" in json.loads(body)["Message"]


def test_off_and_the_developer_s_keys_are_never_checked() -> None:
    assert (
        local_iam("off").check_connections("GET", ["", "dev", "@connections", "c"], auth()) is None
    )
    assert local_iam("off").moto_config() is None
    assert local_iam().check_invoke("Stack-Other", auth("AKIALOCALEMULATOR000")) is None


def test_moto_config_carries_the_permissions() -> None:
    config = local_iam("warn").moto_config()
    assert config is not None
    assert (config["mode"], config["region"], config["account"]) == ("warn", REGION, ACCOUNT)
    assert config["permissions"]["identities"]["PosterABCD1234"]["access_key_id"] == KEY


def test_denials_are_logged_and_published(caplog: pytest.LogCaptureFixture) -> None:
    bus = EventBus()
    records: list[Any] = []
    bus.subscribe(records.append)
    iam = local_iam(bus=bus)
    with caplog.at_level(logging.INFO, logger="cdk_ws_api.local"):
        iam.check_connections("DELETE", ["", "dev", "@connections", "c1="], auth())
        # moto's report of a DynamoDB denial comes as one stdout line
        iam.moto_output(
            DENIAL_PREFIX
            + json.dumps(
                {
                    "function": "PosterABCD1234",
                    "principal": "arn:p",
                    "action": "dynamodb:PutItem",
                    "resource": "arn:t",
                    "explicit": False,
                    "message": "m",
                    "allowed": True,
                    "line": "IAM would deny (--iam warn: allowed) Poster: dynamodb:PutItem on t",
                }
            )
        )
        iam.moto_output("some other moto line")
    assert [type(r) for r in records] == [IamDenialRecord, IamDenialRecord]
    assert records[0].action == "execute-api:ManageConnections" and not records[0].allowed
    assert records[1].allowed and records[1].resource == "arn:t"
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0].startswith("IAM denied Poster: execute-api:ManageConnections on ")
    assert messages[1].startswith("IAM would deny (--iam warn: allowed) Poster: dynamodb:PutItem")
    assert messages[2] == "[moto] some other moto line"


def test_the_iam_option_takes_one_of_three_modes(capsys: pytest.CaptureFixture[str]) -> None:
    assert EmulatorOptions().iam == "enforce"
    with pytest.raises(OptionError, match=r"iam: must be one of enforce, warn, off, got 'strict'"):
        EmulatorOptions(iam="strict")
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert EmulatorOptions.from_namespace(parser.parse_args(["--iam", "warn"])).iam == "warn"
    with pytest.raises(SystemExit):
        parser.parse_args(["--iam", "strict"])
    assert (
        "argument --iam: must be one of enforce, warn, off, got 'strict'" in capsys.readouterr().err
    )
