"""BroadcastFanout (issue 12 §3): queue, dead-letter queue and alarm, the consumer (runtime
layer, reserved concurrency, SQS event source reporting batch item failures, publisher
wiring), grant_publish, validation naming the prop; cfn-lint and cdk-nag clean."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App, Duration, Stack, Validations
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks
from constructs_helpers import acknowledge_test_function, nag_violations, python_function, synth

from cdk_ws_api import (
    BroadcastFanout,
    ConnectionTableProps,
    ConstructValidationError,
    StageOptions,
    WebSocketApi,
)
from lambda_runtime import env


def _api(stack: Stack) -> WebSocketApi:
    return WebSocketApi(
        stack,
        "Api",
        default=python_function(stack, "Handler"),
        stages=[StageOptions(), StageOptions(stage_name="dev")],
        connection_table=ConnectionTableProps(group_index=True),
    )


def _built(**props: Any) -> tuple[Stack, BroadcastFanout, lambda_.Function, Template]:
    stack = Stack(App(), "Fanout")
    api = _api(stack)
    fanout = BroadcastFanout(stack, "Fanout", api=api, **props)
    publisher = python_function(stack, "Publisher")
    api.add_publisher(publisher, table="read")
    fanout.grant_publish(publisher)
    return stack, fanout, publisher, synth(stack)


def _logical(stack: Stack, construct: Any) -> str:
    return stack.get_logical_id(construct.node.default_child)


def test_defaults() -> None:
    stack, fanout, _, template = _built()
    consumer = _logical(stack, fanout.consumer)
    queue = _logical(stack, fanout.queue)
    dead = _logical(stack, fanout.dead_letter_queue)
    template.has_resource_properties(
        "AWS::SQS::Queue",
        {
            "VisibilityTimeout": 360,
            "MessageRetentionPeriod": 86400,
            "SqsManagedSseEnabled": True,
            "RedrivePolicy": {
                "deadLetterTargetArn": {"Fn::GetAtt": [dead, "Arn"]},
                "maxReceiveCount": 5,
            },
        },
    )
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "index.handler",
            "Code": {"ZipFile": Match.string_like_regexp("lambda_runtime.fanout import handler")},
            "ReservedConcurrentExecutions": 5,
            "Timeout": 60,
            "MemorySize": 512,
            "Runtime": "python3.14",
            "Layers": Match.any_value(),
            "Environment": {
                "Variables": Match.object_like(
                    {
                        env.FANOUT_RATE: "1000",
                        env.FANOUT_CONCURRENCY: "5",
                        env.MANAGEMENT_ENDPOINT: Match.any_value(),
                        env.CONNECTION_TABLE: Match.any_value(),
                        env.CONNECTION_GROUP_INDEX: "byGroup",
                    }
                )
            },
        },
    )
    template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "FunctionName": {"Ref": consumer},
            "EventSourceArn": {"Fn::GetAtt": [queue, "Arn"]},
            "BatchSize": 1,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "ScalingConfig": {"MaximumConcurrency": 5},
        },
    )
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Namespace": "AWS/SQS",
            "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": [dead, "QueueName"]}}],
            "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        },
    )


def test_consumer_is_a_publisher_with_post_and_the_table() -> None:
    stack, fanout, _, template = _built()
    role = stack.resolve(fanout.consumer.role.role_name)  # type: ignore[union-attr]
    (policy,) = [
        p
        for p in template.find_resources("AWS::IAM::Policy").values()
        if role in p["Properties"]["Roles"]
    ]
    text = json.dumps(policy["Properties"]["PolicyDocument"])
    assert "execute-api:ManageConnections" in text
    assert "/POST/@connections/*" in text and "/GET/@connections" not in text
    assert "dynamodb:BatchWriteItem" in text and "dynamodb:PutItem" in text
    assert "sqs:ReceiveMessage" in text and "sqs:DeleteMessage" in text


def test_grant_publish_gives_send_and_the_queue_url_only() -> None:
    stack, fanout, publisher, template = _built()
    logical = _logical(stack, publisher)
    variables = template.to_json()["Resources"][logical]["Properties"]["Environment"]["Variables"]
    assert variables[env.FANOUT_QUEUE_URL] == {"Ref": _logical(stack, fanout.queue)}
    role = stack.resolve(publisher.role.role_name)  # type: ignore[union-attr]
    (policy,) = [
        p
        for p in template.find_resources("AWS::IAM::Policy").values()
        if role in p["Properties"]["Roles"]
    ]
    actions = {
        action
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        for action in (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
    }
    sqs_actions = {a for a in actions if a.startswith("sqs:")}
    assert sqs_actions == {"sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"}


def test_props_reach_the_template() -> None:
    _, _, _, template = _built(
        rate=8000,
        reserved_concurrency=20,
        batch_size=4,
        timeout=Duration.seconds(30),
        visibility_timeout=Duration.seconds(45),
        memory_size=1024,
        max_receive_count=2,
        retention_period=Duration.hours(2),
        stage="dev",
    )
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "ReservedConcurrentExecutions": 20,
            "Timeout": 30,
            "MemorySize": 1024,
            "Environment": {
                "Variables": Match.object_like(
                    {
                        env.FANOUT_RATE: "8000",
                        env.FANOUT_CONCURRENCY: "20",
                    }
                )
            },
        },
    )
    template.has_resource_properties(
        "AWS::SQS::Queue",
        {
            "VisibilityTimeout": 45,
            "MessageRetentionPeriod": 7200,
            "RedrivePolicy": Match.object_like({"maxReceiveCount": 2}),
        },
    )
    template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {"BatchSize": 4, "ScalingConfig": {"MaximumConcurrency": 20}},
    )
    consumers = [
        r
        for r in template.find_resources("AWS::Lambda::Function").values()
        if r["Properties"].get("ReservedConcurrentExecutions") == 20
    ]
    endpoint = json.dumps(consumers[0]["Properties"]["Environment"]["Variables"])
    assert "/dev" in endpoint


@pytest.mark.parametrize(
    ("props", "prop"),
    [
        ({"rate": 0}, "rate"),
        ({"rate": 10_001}, "rate"),
        ({"rate": 1.5}, "rate"),
        ({"reserved_concurrency": 1}, "reserved_concurrency"),
        ({"batch_size": 11}, "batch_size"),
        ({"timeout": Duration.seconds(5)}, "timeout"),
        ({"timeout": 60}, "timeout"),
        ({"memory_size": 64}, "memory_size"),
        ({"visibility_timeout": Duration.seconds(59)}, "visibility_timeout"),
        ({"visibility_timeout": Duration.hours(13)}, "visibility_timeout"),
        ({"max_receive_count": 0}, "max_receive_count"),
        ({"retention_period": Duration.days(15)}, "retention_period"),
        ({"runtime": lambda_.Runtime.NODEJS_20_X}, "runtime"),
        ({"runtime": lambda_.Runtime.PYTHON_3_9}, "runtime"),
    ],
)
def test_bad_props_are_named(props: dict[str, Any], prop: str) -> None:
    stack = Stack(App(), "Bad")
    api = _api(stack)
    with pytest.raises(ConstructValidationError) as info:
        BroadcastFanout(stack, "Fanout", api=api, **props)
    assert [p.prop for p in info.value.problems] == [prop]


def test_not_an_api_is_refused() -> None:
    stack = Stack(App(), "NoApi")
    with pytest.raises(ConstructValidationError) as info:
        BroadcastFanout(stack, "Fanout", api="my-api")  # type: ignore[arg-type]
    assert [p.prop for p in info.value.problems] == ["api"]


def test_cdk_nag_finds_nothing() -> None:
    app = App()
    Validations.of(app).add_plugins(AwsSolutionsChecks())
    stack = Stack(app, "FanoutNag")
    api = _api(stack)
    fanout = BroadcastFanout(stack, "Fanout", api=api)
    publisher = python_function(stack, "Publisher")
    fanout.grant_publish(publisher)
    for function in (publisher, stack.node.find_child("Handler")):
        acknowledge_test_function(function)  # type: ignore[arg-type]
    assert nag_violations(app) == []
