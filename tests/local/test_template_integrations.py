"""How a template's integrations, models, queues and event source mappings become specs
(pure: a template written by hand, read with :func:`read_stack`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cdk_ws_api.local.specs import AwsSpec, HttpSpec, LambdaSpec, MockSpec, StackTemplate
from cdk_ws_api.local.template import read_stack

API = {"Ref": "Api"}


def _integration(**props: Any) -> dict[str, Any]:
    return {"Type": "AWS::ApiGatewayV2::Integration", "Properties": {"ApiId": API, **props}}


def _route(key: str, integration: str, **props: Any) -> dict[str, Any]:
    target = {"Fn::Join": ["", ["integrations/", {"Ref": integration}]]}
    return {
        "Type": "AWS::ApiGatewayV2::Route",
        "Properties": {"ApiId": API, "RouteKey": key, "Target": target, **props},
    }


TEMPLATE: dict[str, Any] = {
    "Resources": {
        "Api": {
            "Type": "AWS::ApiGatewayV2::Api",
            "Properties": {"Name": "a", "ProtocolType": "WEBSOCKET"},
        },
        "Dlq": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "dead"}},
        "Queue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "VisibilityTimeout": 7,
                "RedrivePolicy": {
                    "deadLetterTargetArn": {"Fn::GetAtt": ["Dlq", "Arn"]},
                    "maxReceiveCount": 3,
                },
            },
        },
        "Fifo": {"Type": "AWS::SQS::Queue", "Properties": {"FifoQueue": True}},
        "Worker": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Runtime": "python3.12",
                "Handler": "index.handler",
                "Code": {"ZipFile": "def handler(e, c):\n    return None\n"},
                "Environment": {"Variables": {"QUEUE_URL": {"Ref": "Queue"}}},
            },
        },
        "Mapping": {
            "Type": "AWS::Lambda::EventSourceMapping",
            "Properties": {
                "EventSourceArn": {"Fn::GetAtt": ["Queue", "Arn"]},
                "FunctionName": {"Ref": "Worker"},
                "BatchSize": 4,
                "MaximumBatchingWindowInSeconds": 2,
                "FunctionResponseTypes": ["ReportBatchItemFailures"],
            },
        },
        "Machine": {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {
                "StateMachineType": "EXPRESS",
                "DefinitionString": json.dumps(
                    {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
                ),
            },
        },
        "Bus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": "bus"}},
        "Rule": {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "EventBusName": {"Ref": "Bus"},
                "EventPattern": {"source": ["app"]},
                "Targets": [
                    {"Id": "q", "Arn": {"Fn::GetAtt": ["Queue", "Arn"]}},
                    {"Id": "f", "Arn": {"Fn::GetAtt": ["Worker", "Arn"]}},
                ],
            },
        },
        "SqsIntegration": _integration(
            IntegrationType="AWS",
            IntegrationUri={
                "Fn::Join": [
                    "",
                    [
                        "arn:aws:apigateway:",
                        {"Ref": "AWS::Region"},
                        ":sqs:path/",
                        {"Ref": "AWS::AccountId"},
                        "/",
                        {"Fn::GetAtt": ["Queue", "QueueName"]},
                    ],
                ]
            },
            CredentialsArn="arn:aws:iam::123456789012:role/r",
            RequestTemplates={"$default": "Action=SendMessage"},
            TemplateSelectionExpression="\\$default",
            PassthroughBehavior="NEVER",
            TimeoutInMillis=1500,
        ),
        "SqsResponse": {
            "Type": "AWS::ApiGatewayV2::IntegrationResponse",
            "Properties": {
                "ApiId": API,
                "IntegrationId": {"Ref": "SqsIntegration"},
                "IntegrationResponseKey": "/2\\d\\d/",
                "ResponseTemplates": {"$default": "{}"},
            },
        },
        "SqsRoute": _route("report", "SqsIntegration"),
        "MockIntegration": _integration(IntegrationType="MOCK"),
        "ConnectRoute": _route(
            "$connect",
            "MockIntegration",
            RequestParameters={"route.request.querystring.room": {"Required": True}},
        ),
        "ModelRoute": _route(
            "model",
            "MockIntegration",
            ModelSelectionExpression="\\$default",
            RequestModels={"$default": "Msg"},
        ),
        "UnvalidatedRoute": _route("loose", "MockIntegration", RequestModels={"$default": "Msg"}),
        "Model": {
            "Type": "AWS::ApiGatewayV2::Model",
            "Properties": {"ApiId": API, "Name": "Msg", "Schema": json.dumps({"type": "object"})},
        },
        "LambdaIntegration": _integration(
            IntegrationType="AWS",
            IntegrationUri={
                "Fn::Join": [
                    "",
                    [
                        "arn:aws:apigateway:x:lambda:path/2015-03-31/functions/",
                        {"Fn::GetAtt": ["Worker", "Arn"]},
                        "/invocations",
                    ],
                ]
            },
        ),
        "LambdaRoute": _route("custom", "LambdaIntegration"),
        "HttpIntegration": _integration(
            IntegrationType="HTTP",
            IntegrationUri="https://api.example.test/x",
            IntegrationMethod="ANY",
        ),
        "HttpRoute": _route("http", "HttpIntegration"),
        "OtherIntegration": _integration(
            IntegrationType="AWS", IntegrationUri="arn:aws:apigateway:us-east-1:sns:action/Publish"
        ),
        "OtherRoute": _route("sns", "OtherIntegration"),
    }
}


def _read(tmp_path: Path) -> Any:
    stack = StackTemplate("S", "S", "S", TEMPLATE, tmp_path, "us-east-1", "123456789012")
    return read_stack(stack)


def test_integration_kinds_and_their_request_side(tmp_path: Path) -> None:
    routes = _read(tmp_path).api.routes
    sqs = routes["report"].integration
    assert isinstance(sqs, AwsSpec)
    assert (sqs.service, sqs.action, sqs.path) == ("sqs", None, "123456789012/S-Queue")
    assert sqs.credentials_arn == "arn:aws:iam::123456789012:role/r"
    assert sqs.passthrough_behavior == "NEVER" and sqs.timeout == 1.5
    assert sqs.template_selection_expression == "\\$default"
    assert [(r.key, dict(r.templates)) for r in sqs.responses] == [
        ("/2\\d\\d/", {"$default": "{}"})
    ]
    assert isinstance(routes["$connect"].integration, MockSpec)
    assert routes["$connect"].required_parameters == ("route.request.querystring.room",)
    custom = routes["custom"].integration
    assert isinstance(custom, LambdaSpec) and not custom.proxy and custom.function == "Worker"
    http = routes["http"].integration
    assert isinstance(http, HttpSpec) and (http.method, http.proxy) == ("POST", False)


def test_models_and_the_warnings(tmp_path: Path) -> None:
    app = _read(tmp_path)
    assert app.api.models == {"Msg": {"type": "object"}}
    assert app.api.routes["model"].request_models == {"$default": "Msg"}
    warnings = "\n".join(app.warnings)
    assert "route loose: request models without a ModelSelectionExpression" in warnings
    assert "route sns: AWS sns:Publish is not among the emulated actions" in warnings
    assert "--allow-http-integration api.example.test" in warnings
    assert "AWS::SQS::Queue" not in warnings and "EventSourceMapping" not in warnings


def test_queues_are_created_dead_letter_first_and_refs_are_queue_urls(tmp_path: Path) -> None:
    app = _read(tmp_path)
    created = [(r.service, r.operation, r.name) for r in app.resources]
    assert created.index(("sqs", "CreateQueue", "dead")) < created.index(
        ("sqs", "CreateQueue", "S-Queue")
    )
    assert ("sqs", "CreateQueue", "S-Fifo.fifo") in created
    assert ("stepfunctions", "CreateStateMachine", "S-Machine") in created
    queue = next(r for r in app.resources if r.name == "S-Queue")
    assert queue.params["Attributes"]["VisibilityTimeout"] == "7"
    assert json.loads(queue.params["Attributes"]["RedrivePolicy"]) == {
        "deadLetterTargetArn": "arn:aws:sqs:us-east-1:123456789012:dead",
        "maxReceiveCount": 3,
    }
    url = app.functions["Worker"].environment["QUEUE_URL"]
    assert url == "https://sqs.us-east-1.amazonaws.com/123456789012/S-Queue"


def test_event_source_mapping(tmp_path: Path) -> None:
    (mapping,) = _read(tmp_path).event_sources
    assert (mapping.function, mapping.queue.name) == ("Worker", "S-Queue")
    assert (mapping.batch_size, mapping.batch_window) == (4, 2.0)
    assert mapping.report_batch_item_failures and mapping.queue.visibility_timeout == 7


def test_event_rules_are_created_after_their_bus_and_queues(tmp_path: Path) -> None:
    app = _read(tmp_path)
    operations = [(r.service, r.operation) for r in app.resources]
    assert operations[-2:] == [("events", "PutRule"), ("events", "PutTargets")]
    assert operations.index(("events", "CreateEventBus")) < operations.index(("events", "PutRule"))
    rule, targets = app.resources[-2:]
    assert json.loads(rule.params["EventPattern"]) == {"source": ["app"]}
    assert rule.params["EventBusName"] == "bus"
    assert targets.params["Targets"] == [
        {"Id": "q", "Arn": "arn:aws:sqs:us-east-1:123456789012:S-Queue"}
    ]
    assert "rule Rule: target arn:aws:lambda" in "\n".join(app.warnings)
