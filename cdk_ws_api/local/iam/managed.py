"""The AWS managed policies the emulator knows by ARN: a built-in set (data, no I/O at import).

CDK users attach a handful of AWS managed policies to Lambda roles (``AWSLambdaBasicExecutionRole``
on every ``lambda.Function``, ``AWSLambdaVPCAccessExecutionRole`` in a VPC, the DynamoDB, SQS,
API Gateway... ``FullAccess``/``ReadOnlyAccess`` ones). Their documents are in
``aws_managed_policies.json`` next to this module, copied from moto's snapshot of every AWS
managed policy (``moto/iam/aws_managed_policies.py``, refreshed by moto from AWS), not typed by
hand: ``python -m cdk_ws_api.local.iam.managed`` rewrites the file from the installed moto, and
a test checks that the file still equals moto's documents. The set is :data:`BUILT_IN`; a role
naming any other AWS managed policy gets a warning at start (its permissions are unknown, so
under ``--iam enforce`` it grants nothing).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

__all__ = ["BUILT_IN", "managed_policy", "policy_arn"]

_DATA = Path(__file__).with_name("aws_managed_policies.json")

#: The AWS managed policies known locally, by name.
BUILT_IN = (
    "AWSLambdaBasicExecutionRole",
    "AWSLambdaVPCAccessExecutionRole",
    "AWSLambdaDynamoDBExecutionRole",
    "AWSLambdaSQSQueueExecutionRole",
    "AWSLambdaExecute",
    "AWSLambdaRole",
    "AWSLambda_FullAccess",
    "AWSLambda_ReadOnlyAccess",
    "AWSXRayDaemonWriteAccess",
    "AWSXrayWriteOnlyAccess",
    "CloudWatchLambdaInsightsExecutionRolePolicy",
    "CloudWatchLogsFullAccess",
    "AmazonDynamoDBFullAccess",
    "AmazonDynamoDBReadOnlyAccess",
    "AmazonSQSFullAccess",
    "AmazonSQSReadOnlyAccess",
    "AmazonSNSFullAccess",
    "AmazonAPIGatewayInvokeFullAccess",
    "AmazonAPIGatewayAdministrator",
    "AmazonAPIGatewayPushToCloudWatchLogs",
    "AmazonEventBridgeFullAccess",
    "AWSStepFunctionsFullAccess",
    "AmazonS3FullAccess",
    "AmazonS3ReadOnlyAccess",
    "AmazonSSMReadOnlyAccess",
    "SecretsManagerReadWrite",
    "PowerUserAccess",
    "AdministratorAccess",
)


def policy_arn(name: str, path: str = "/") -> str:
    """``arn:aws:iam::aws:policy{path}{name}``."""
    return f"arn:aws:iam::aws:policy{path}{name}"


@cache
def _by_arn() -> dict[str, dict[str, Any]]:
    data: dict[str, dict[str, Any]] = json.loads(_DATA.read_text())
    return {policy_arn(name, entry["path"]): entry["document"] for name, entry in data.items()}


def managed_policy(arn: str) -> dict[str, Any] | None:
    """The document of the AWS managed policy ``arn`` (any partition), or ``None`` when it is
    not in :data:`BUILT_IN`."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "iam" or parts[4] != "aws":
        return None
    return _by_arn().get("arn:aws:iam::aws:" + parts[5])


def moto_documents() -> dict[str, dict[str, Any]]:
    """:data:`BUILT_IN` as moto's snapshot has them (``{name: {"path", "document"}}``); moto's
    private data module is read here only."""
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    data = json.loads(aws_managed_policies_data)
    return {
        name: {"path": data[name]["Path"], "document": data[name]["Document"]} for name in BUILT_IN
    }


if __name__ == "__main__":  # refresh the built-in set from the installed moto
    _DATA.write_text(json.dumps(moto_documents(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(BUILT_IN)} policies to {_DATA}")
