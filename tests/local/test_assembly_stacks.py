"""The assembly's other stacks: their functions and tables are served with the API's stack, and
``Fn::ImportValue`` resolves to the exporting stack's local value (hand-written assemblies)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cdk_ws_api.local.assembly import assembly_exports, list_stacks, load_app

CODE = "c" * 64


def _function(handler: str, runtime: str = "python3.12", **env: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "Runtime": runtime,
            "Handler": handler,
            "Code": {"S3Bucket": "b", "S3Key": f"{CODE}.zip"},
            "Environment": {"Variables": env},
        },
        "Metadata": {"aws:cdk:path": "X/Fn/Resource"},
    }


def _table() -> dict[str, Any]:
    return {
        "Type": "AWS::DynamoDB::Table",
        "Properties": {
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        },
    }


def _api() -> dict[str, Any]:
    return {"Type": "AWS::ApiGatewayV2::Api", "Properties": {"ProtocolType": "WEBSOCKET"}}


CALLBACK = {"Fn::Sub": "https://${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}/dev"}

STACKS: dict[str, dict[str, Any]] = {
    "ApiStack": {
        "Resources": {
            "Api": _api(),
            "Stage": {
                "Type": "AWS::ApiGatewayV2::Stage",
                "Properties": {"ApiId": {"Ref": "Api"}, "StageName": "dev"},
            },
            "Connections": _table(),
            "Chat": _function("chat.handler"),
        },
        "Outputs": {
            "T": {"Value": {"Ref": "Connections"}, "Export": {"Name": "ApiStack:Table"}},
            "C": {"Value": CALLBACK, "Export": {"Name": {"Fn::Sub": "${AWS::StackName}:Cb"}}},
        },
    },
    "BackendStack": {
        "Resources": {
            "Notifier": _function(
                "notifier.handler",
                TABLE={"Fn::ImportValue": "ApiStack:Table"},
                CALLBACK={"Fn::ImportValue": "ApiStack:Cb"},
                MISSING={"Fn::ImportValue": "Nowhere:Thing"},
            ),
            "Chat": _function("other_chat.handler"),  # the same logical id as ApiStack's
            "Provider": _function("index.handler", runtime="nodejs20.x"),  # a CDK provider
            "Jobs": _table(),
        },
        "Outputs": {
            "J": {
                "Value": {"Fn::Join": ["-", [{"Fn::ImportValue": "ApiStack:Table"}, "jobs"]]},
                "Export": {"Name": "BackendStack:Derived"},
            }
        },
    },
    # Listed first so that a single pass could not resolve what it imports.
    "ConsumerStack": {
        "Resources": {
            "Reader": _function("r.handler", D={"Fn::ImportValue": "BackendStack:Derived"})
        }
    },
    "OtherApiStack": {"Resources": {"Api": _api(), "Own": _table(), "Fn": _function("x.h")}},
}


def _write(root: Path) -> Path:
    (root / f"asset.{CODE}").mkdir()
    artifacts: dict[str, Any] = {}
    order = ["ConsumerStack", "ApiStack", "BackendStack", "OtherApiStack"]
    for name in order:
        (root / f"{name}.template.json").write_text(json.dumps(STACKS[name]))
        files = {
            CODE: {
                "source": {"path": f"asset.{CODE}", "packaging": "zip"},
                "destinations": {"d": {"bucketName": "b", "objectKey": f"{CODE}.zip"}},
            }
        }
        (root / f"{name}.assets.json").write_text(json.dumps({"version": "1", "files": files}))
        artifacts[name] = {
            "type": "aws:cloudformation:stack",
            "environment": "aws://unknown-account/unknown-region",
            "properties": {"templateFile": f"{name}.template.json"},
        }
    (root / "manifest.json").write_text(json.dumps({"artifacts": artifacts}))
    return root


def test_exports_resolve_across_stacks_including_chains(tmp_path: Path) -> None:
    exports = assembly_exports(list_stacks(_write(tmp_path)))
    app = load_app(tmp_path)
    assert exports["ApiStack:Table"] == "ApiStack-Connections"
    assert exports["ApiStack:Cb"] == (
        f"https://{app.api.api_id}.execute-api.us-east-1.amazonaws.com/dev"
    )
    assert exports["BackendStack:Derived"] == "ApiStack-Connections-jobs"


def test_other_stacks_functions_and_tables_are_served(tmp_path: Path) -> None:
    app = load_app(_write(tmp_path))
    assert app.stack == "ApiStack"
    assert set(app.functions) == {
        "Chat",
        "BackendStack/Notifier",
        "BackendStack/Chat",
        "ConsumerStack/Reader",
    }
    notifier = app.functions["BackendStack/Notifier"]
    assert notifier.stack == "BackendStack" and notifier.name == "BackendStack-Notifier"
    assert notifier.environment["TABLE"] == "ApiStack-Connections"
    assert notifier.environment["CALLBACK"].endswith(".execute-api.us-east-1.amazonaws.com/dev")
    assert "MISSING" not in notifier.environment
    assert app.functions["ConsumerStack/Reader"].environment["D"] == "ApiStack-Connections-jobs"
    assert app.functions["BackendStack/Chat"].handler == "other_chat.handler"
    # Another API's stack is its own --stack: nothing of it is served here.
    assert {t.name for t in app.tables} == {"ApiStack-Connections", "BackendStack-Jobs"}
    warnings = "\n".join(app.warnings)
    assert "stack BackendStack: function Notifier: env MISSING unresolved" in warnings
    assert "no stack of the assembly exports it" in warnings
    assert "nodejs" not in warnings  # providers behind no route are skipped silently
