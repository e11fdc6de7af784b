"""Reading cloud assemblies written by hand (no jsii): any template, not only cdk-ws-api's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cdk_ws_api.local.assembly import list_stacks, load_app
from cdk_ws_api.local.exceptions import AssemblyError, NoWebSocketApiError, StackNotFoundError

ASSET = "a" * 64
LAYER = "b" * 64


def _integration(function: str) -> dict[str, Any]:
    uri = {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":apigateway:",
                {"Ref": "AWS::Region"},
                ":lambda:path/2015-03-31/functions/",
                {"Fn::GetAtt": [function, "Arn"]},
                "/invocations",
            ],
        ]
    }
    return {
        "Type": "AWS::ApiGatewayV2::Integration",
        "Properties": {
            "ApiId": {"Ref": "Api"},
            "IntegrationType": "AWS_PROXY",
            "IntegrationUri": uri,
        },
    }


def _route(key: str, integration: str, **extra: Any) -> dict[str, Any]:
    target = {"Fn::Join": ["", ["integrations/", {"Ref": integration}]]}
    return {
        "Type": "AWS::ApiGatewayV2::Route",
        "Properties": {"ApiId": {"Ref": "Api"}, "RouteKey": key, "Target": target, **extra},
    }


def _function(handler: str, **props: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "Runtime": "python3.12",
            "Handler": handler,
            "Code": {"S3Bucket": "bucket", "S3Key": f"{ASSET}.zip"},
            **props,
        },
    }


TEMPLATE: dict[str, Any] = {
    "Resources": {
        "Api": {
            "Type": "AWS::ApiGatewayV2::Api",
            "Properties": {
                "Name": "my-api",
                "ProtocolType": "WEBSOCKET",
                "RouteSelectionExpression": "$request.body.type",
            },
        },
        "Stage": {
            "Type": "AWS::ApiGatewayV2::Stage",
            "Properties": {
                "ApiId": {"Ref": "Api"},
                "StageName": "beta",
                "StageVariables": {"v": "1"},
            },
        },
        "Stage2": {
            "Type": "AWS::ApiGatewayV2::Stage",
            "Properties": {"ApiId": {"Ref": "Api"}, "StageName": "gamma"},
        },
        "Handler": _function(
            "app.handler",
            Timeout=9,
            MemorySize=512,
            Layers=[{"Ref": "Layer"}],
            Environment={
                "Variables": {
                    "TABLE": {"Ref": "Table"},
                    "CALLBACK": {
                        "Fn::Sub": "https://${Api}.execute-api.${AWS::Region}.amazonaws.com/beta"
                    },
                    "BROKEN": {"Fn::ImportValue": "Elsewhere"},
                }
            },
        ),
        "Authorizer": _function("auth.handler"),
        "Inline": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Runtime": "python3.11",
                "Handler": "index.handler",
                "Code": {"ZipFile": "def handler(e, c):\n    return 1\n"},
            },
        },
        "NodeFn": {
            "Type": "AWS::Lambda::Function",
            "Properties": {"Runtime": "nodejs20.x", "Handler": "index.handler", "Code": {}},
        },
        "Layer": {
            "Type": "AWS::Lambda::LayerVersion",
            "Properties": {"Content": {"S3Bucket": "bucket", "S3Key": f"{LAYER}.zip"}},
        },
        "HandlerIntegration": _integration("Handler"),
        "InlineIntegration": _integration("Inline"),
        "NodeIntegration": _integration("NodeFn"),
        "HttpIntegration": {
            "Type": "AWS::ApiGatewayV2::Integration",
            "Properties": {"ApiId": {"Ref": "Api"}, "IntegrationType": "HTTP_PROXY"},
        },
        "Auth": {
            "Type": "AWS::ApiGatewayV2::Authorizer",
            "Properties": {
                "ApiId": {"Ref": "Api"},
                "AuthorizerType": "REQUEST",
                "Name": "auth",
                "IdentitySource": ["route.request.header.Auth"],
                "AuthorizerUri": {"Fn::Join": ["", [{"Fn::GetAtt": ["Authorizer", "Arn"]}]]},
            },
        },
        "ConnectRoute": _route(
            "$connect",
            "HandlerIntegration",
            AuthorizationType="CUSTOM",
            AuthorizerId={"Ref": "Auth"},
        ),
        "SendRoute": _route("send", "HandlerIntegration"),
        "AskRoute": _route("ask", "InlineIntegration"),
        "NodeRoute": _route("node", "NodeIntegration"),
        "HttpRoute": _route("http", "HttpIntegration"),
        "AskResponse": {
            "Type": "AWS::ApiGatewayV2::RouteResponse",
            "Properties": {
                "ApiId": {"Ref": "Api"},
                "RouteId": {"Ref": "AskRoute"},
                "RouteResponseKey": "$default",
            },
        },
        "Table": {
            "Type": "AWS::DynamoDB::Table",
            "Properties": {
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                "AttributeDefinitions": [
                    {"AttributeName": "pk", "AttributeType": "S"},
                    {"AttributeName": "g", "AttributeType": "S"},
                ],
                "GlobalSecondaryIndexes": [
                    {
                        "IndexName": "byG",
                        "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                        "Projection": {"ProjectionType": "KEYS_ONLY"},
                    }
                ],
                "TimeToLiveSpecification": {"AttributeName": "ttl", "Enabled": True},
            },
        },
        "Named": {
            "Type": "AWS::DynamoDB::Table",
            "Properties": {
                "TableName": "fixed-name",
                "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
            },
        },
        "Queue": {"Type": "AWS::SQS::Queue"},
        "Topic": {"Type": "AWS::SNS::Topic"},
        "Role": {"Type": "AWS::IAM::Role"},
    }
}


def _write_assembly(root: Path, template: dict[str, Any], *, nested: bool = False) -> Path:
    directory = root / "assembly-Stage" if nested else root
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"asset.{ASSET}").mkdir()
    (directory / f"asset.{ASSET}" / "app.py").write_text("def handler(e, c):\n    return 1\n")
    (directory / f"asset.{LAYER}" / "python").mkdir(parents=True)
    (directory / "Stack.template.json").write_text(json.dumps(template))
    files = {
        key: {
            "source": {"path": f"asset.{key}", "packaging": "zip"},
            "destinations": {"d": {"bucketName": "bucket", "objectKey": f"{key}.zip"}},
        }
        for key in (ASSET, LAYER)
    }
    (directory / "Stack.assets.json").write_text(json.dumps({"version": "1", "files": files}))
    artifacts = {
        "Stack": {
            "type": "aws:cloudformation:stack",
            "environment": "aws://444455556666/ap-south-1",
            "properties": {"templateFile": "Stack.template.json", "stackName": "Stage-Stack"},
            "displayName": "Stage/Stack" if nested else "Stack",
        }
    }
    (directory / "manifest.json").write_text(json.dumps({"artifacts": artifacts}))
    if nested:
        outer = {
            "artifacts": {
                "assembly-Stage": {
                    "type": "cdk:cloud-assembly",
                    "properties": {"directoryName": "assembly-Stage"},
                }
            }
        }
        (root / "manifest.json").write_text(json.dumps(outer))
    return root


@pytest.fixture
def assembly(tmp_path: Path) -> Path:
    return _write_assembly(tmp_path, TEMPLATE)


def test_api_routes_and_authorizers(assembly: Path) -> None:
    app = load_app(assembly)
    api = app.api
    assert app.stack == "Stage-Stack"
    assert (api.name, api.stage, api.stages) == ("my-api", "beta", ("beta", "gamma"))
    assert (api.region, api.account) == ("ap-south-1", "444455556666")
    assert api.route_selection_expression == "$request.body.type"
    assert api.stage_variables == {"v": "1"}
    assert len(api.api_id) == 10 and api.api_id == load_app(assembly).api.api_id  # stable
    assert set(api.routes) == {"$connect", "send", "ask", "node", "http"}
    assert api.routes["send"].function == "Handler" and not api.routes["send"].return_response
    assert api.routes["ask"].function == "Inline" and api.routes["ask"].return_response
    assert api.routes["http"].function is None
    connect = api.routes["$connect"]
    assert connect.authorizer == "Auth" and connect.authorization_type == "CUSTOM"
    auth = api.authorizers["Auth"]
    assert (auth.name, auth.function, auth.identity_sources) == (
        "auth",
        "Authorizer",
        ("route.request.header.Auth",),
    )
    assert load_app(assembly, stage="gamma").api.stage == "gamma"


def test_functions(assembly: Path) -> None:
    app = load_app(assembly)
    assert set(app.functions) == {"Handler", "Authorizer", "Inline"}
    handler = app.functions["Handler"]
    assert handler.code_dir == (assembly / f"asset.{ASSET}").resolve()
    assert handler.layer_dirs == ((assembly / f"asset.{LAYER}" / "python").resolve(),)
    assert (handler.timeout, handler.memory_mb, handler.handler) == (9.0, 512, "app.handler")
    assert handler.name == "Stage-Stack-Handler"
    assert handler.environment["TABLE"] == "Stage-Stack-Table"
    assert handler.environment["CALLBACK"] == (
        f"https://{app.api.api_id}.execute-api.ap-south-1.amazonaws.com/beta"
    )
    assert "BROKEN" not in handler.environment
    inline = app.functions["Inline"]
    assert (inline.code_dir / "index.py").read_text().startswith("def handler")


def test_tables(assembly: Path) -> None:
    tables = {t.logical_id: t for t in load_app(assembly).tables}
    table = tables["Table"]
    assert table.name == "Stage-Stack-Table" and table.ttl_attribute == "ttl"
    assert table.key_schema == (("pk", "HASH"),)
    assert table.global_indexes[0].name == "byG"
    assert table.global_indexes[0].projection == {"ProjectionType": "KEYS_ONLY"}
    assert tables["Named"].name == "fixed-name" and tables["Named"].ttl_attribute is None


def test_warnings_list_what_is_not_emulated(assembly: Path) -> None:
    app = load_app(assembly)
    warnings = "\n".join(app.warnings)
    assert "AWS::SNS::Topic" in warnings
    # queues are created in the embedded moto server, not ignored
    assert "AWS::SQS::Queue" not in warnings
    assert [(r.service, r.operation) for r in app.resources] == [("sqs", "CreateQueue")]
    assert "nodejs20.x" in warnings
    assert "HTTP_PROXY" in warnings
    assert "BROKEN" in warnings
    assert "IAM" not in warnings  # IAM is not enforced locally, nothing to warn about


def test_nested_stage_assemblies(tmp_path: Path) -> None:
    _write_assembly(tmp_path, TEMPLATE, nested=True)
    assert [s.display_name for s in list_stacks(tmp_path)] == ["Stage/Stack"]
    app = load_app(tmp_path, stack="Stage/Stack")
    assert app.functions["Handler"].code_dir.exists()


def test_asset_metadata_is_preferred(tmp_path: Path) -> None:
    template = json.loads(json.dumps(TEMPLATE))
    (tmp_path / "elsewhere").mkdir()
    template["Resources"]["Handler"]["Metadata"] = {
        "aws:asset:path": "elsewhere",
        "aws:asset:property": "Code",
    }
    _write_assembly(tmp_path, template)
    assert load_app(tmp_path).functions["Handler"].code_dir == (tmp_path / "elsewhere").resolve()


def test_errors(tmp_path: Path, assembly: Path) -> None:
    with pytest.raises(AssemblyError):
        load_app(tmp_path / "missing")
    with pytest.raises(StackNotFoundError, match="Stack"):
        load_app(assembly, stack="Other")
    with pytest.raises(NoWebSocketApiError, match="no stage 'prod'"):
        load_app(assembly, stage="prod")
    other = tmp_path / "http"
    _write_assembly(other, {"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}})
    with pytest.raises(NoWebSocketApiError):
        load_app(other)
