"""The helpers' request templates are requests the AWS services accept.

Each template is evaluated for one client frame (see :func:`_evaluate`) and the result is sent
the way API Gateway sends it: the SQS ``SendMessage`` form body over HTTP to a real moto server
on loopback (the Query API, as API Gateway's ``sqs:path/`` integration speaks it), the
EventBridge and Step Functions JSON bodies through boto3 to the same server after botocore's
own validation of the service's input shape. What the services then hold is read back with
boto3: the message and its attributes, the event, the execution's input.
"""

from __future__ import annotations

import json
import re
import urllib.parse
import urllib.request
from typing import Any

import boto3
import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Template
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.validate import ParamValidator

from cdk_ws_api import (
    EventBridgeIntegration,
    RouteOptions,
    SqsIntegration,
    StepFunctionsIntegration,
    WebSocketApi,
)
from tests.runtime import conftest as runtime_conftest

ACCOUNT = "123456789012"
REGION = "us-east-1"
CONTEXT = {"connectionId": "L0SM9cOFvHcCIhw=", "routeKey": "report", "requestId": "Rq+1/x="}
#: A frame with what breaks naive templates: quotes, an apostrophe, &, =, +, %, non-ASCII.
FRAME = json.dumps({"action": "report", "text": 'it\'s "50%" & a+b=c \u00e9\u2713 \\ /'})
_ARN = "<ARN>"


# The runtime tests' moto server (session), reused rather than copied (see
# tests/test_example_handlers.py): bound here, where pytest looks for this module's fixtures.
moto_url = runtime_conftest.moto_url


def _client(service: str, endpoint: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION)


def _evaluate(template: str, arn: str, body: str = FRAME) -> str:
    """The template API Gateway would produce for ``body`` (the VTL features it uses).

    ``$util.urlEncode(x)`` is Java's form encoding (``quote_plus``); ``$message``, set by
    the first line to ``$util.escapeJavaScript($input.body)`` with ``\\'`` turned back into
    ``'``, is the body escaped for a JSON string (``json.dumps`` escapes differently for ``/``
    and non-ASCII, but both decode to the same text); ``<ARN>`` stands for the resource's
    ARN token.
    """
    if template.startswith("#set($message = $util.escapeJavaScript($input.body)"):
        template = template.split("\n", 1)[1]
    values = {"$input.body": body, **{f"$context.{k}": v for k, v in CONTEXT.items()}}
    text = re.sub(
        r"\$util\.urlEncode\((\$[\w.]+)\)",
        lambda m: urllib.parse.quote_plus(values[m.group(1)], safe=""),
        template,
    )
    text = re.sub(r"\$context\.(\w+)", lambda m: CONTEXT[m.group(1)], text)
    text = text.replace("$message", json.dumps(body)[1:-1]).replace(_ARN, arn)
    assert "$" not in text.replace("$default", "") and "#" not in text, text
    return text


def _request_template(template: Template, route_key: str) -> str:
    routes = template.find_resources(
        "AWS::ApiGatewayV2::Route", {"Properties": {"RouteKey": route_key}}
    )
    ((_, route),) = routes.items()
    integration_id = route["Properties"]["Target"]["Fn::Join"][1][1]["Ref"]
    value = template.to_json()["Resources"][integration_id]["Properties"]["RequestTemplates"][
        "$default"
    ]
    if isinstance(value, str):
        return value
    return "".join(p if isinstance(p, str) else _ARN for p in value["Fn::Join"][1])


def _validate(service: str, operation: str, params: dict[str, Any]) -> None:
    """botocore's validation of ``params`` against the operation's input shape."""
    model = boto3.session.Session().client(service, region_name=REGION).meta.service_model
    report = ParamValidator().validate(params, model.operation_model(operation).input_shape)
    assert not report.has_errors(), report.generate_report()


@pytest.mark.parametrize("fifo", [False, True])
def test_sqs_template_is_a_send_message_sqs_accepts(moto_url: str, fifo: bool) -> None:
    # GIVEN a route on an SqsIntegration (FIFO: grouped by connection)
    stack = Stack(App(), "Sqs")
    queue = sqs.Queue(stack, "Q", fifo=fifo or None)
    group = SqsIntegration.GROUP_BY_CONNECTION if fifo else None
    WebSocketApi(stack, "Api", routes={"report": SqsIntegration(queue, message_group_id=group)})
    template = _request_template(Template.from_stack(stack), "report")
    # AND the queue on a real SQS (moto)
    client = _client("sqs", moto_url)
    name = f"reports-{fifo}" + (".fifo" if fifo else "")
    attributes = {"FifoQueue": "true"} if fifo else {}
    url = client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    # WHEN API Gateway's request (POST sqs:path/{account}/{queue}, form body, signed with
    # the credentials role's SigV4) is sent
    request = AWSRequest(
        method="POST",
        url=f"{moto_url}/{ACCOUNT}/{name}",
        data=_evaluate(template, "").encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    SigV4Auth(Credentials("testing", "testing"), "sqs", REGION).add_auth(request)
    prepared = request.prepare()
    http_request = urllib.request.Request(
        prepared.url, data=prepared.body, headers=dict(prepared.headers), method="POST"
    )
    with urllib.request.urlopen(http_request, timeout=30) as answer:
        assert answer.status == 200
    # THEN the queue holds the frame, unchanged, with the three context attributes
    (message,) = client.receive_message(
        QueueUrl=url, MessageAttributeNames=["All"], AttributeNames=["All"]
    )["Messages"]
    assert message["Body"] == FRAME
    assert {k: v["StringValue"] for k, v in message["MessageAttributes"].items()} == CONTEXT
    assert {v["DataType"] for v in message["MessageAttributes"].values()} == {"String"}
    if fifo:
        assert message["Attributes"]["MessageGroupId"] == CONTEXT["connectionId"]
        assert message["Attributes"]["MessageDeduplicationId"] == CONTEXT["requestId"]


def test_eventbridge_template_is_a_put_events_request(moto_url: str) -> None:
    # GIVEN a route on an EventBridgeIntegration
    stack = Stack(App(), "Events")
    bus = events.EventBus(stack, "Bus")
    WebSocketApi(stack, "Api", routes={"report": EventBridgeIntegration(bus, source="chat.app")})
    template = _request_template(Template.from_stack(stack), "report")
    # AND the bus on a real EventBridge (moto), its events copied to a queue by a rule
    client = _client("events", moto_url)
    bus_arn = client.create_event_bus(Name="chat")["EventBusArn"]
    sqs_client = _client("sqs", moto_url)
    queue_url = sqs_client.create_queue(QueueName="copied-events")["QueueUrl"]
    queue_arn = sqs_client.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    client.put_rule(Name="copy", EventBusName="chat", EventPattern='{"source": ["chat.app"]}')
    client.put_targets(
        Rule="copy", EventBusName="chat", Targets=[{"Id": "queue", "Arn": queue_arn}]
    )
    # WHEN the evaluated request is validated by botocore and sent
    params = json.loads(_evaluate(template, bus_arn))
    _validate("events", "PutEvents", params)
    answer = client.put_events(**params)
    # THEN the event is accepted and its detail holds the connection and the message
    assert answer["FailedEntryCount"] == 0
    (copied,) = sqs_client.receive_message(QueueUrl=queue_url)["Messages"]
    event = json.loads(copied["Body"])
    assert (event["source"], event["detail-type"]) == ("chat.app", "WebSocket message")
    assert event["detail"] == {**CONTEXT, "message": json.loads(FRAME)}


@pytest.mark.parametrize("two_way", [False, True])
def test_step_functions_template_is_a_start_execution_request(moto_url: str, two_way: bool) -> None:
    # GIVEN a route on a StepFunctionsIntegration (two-way Express: StartSyncExecution)
    stack = Stack(App(), "Flow")
    machine = sfn.StateMachine(
        stack,
        "M",
        state_machine_type=sfn.StateMachineType.EXPRESS,
        definition_body=sfn.DefinitionBody.from_chainable(sfn.Pass(stack, "P")),
    )
    WebSocketApi(
        stack,
        "Api",
        routes={
            "report": RouteOptions(
                integration=StepFunctionsIntegration(machine), return_response=two_way
            )
        },
    )
    template = _request_template(Template.from_stack(stack), "report")
    operation = "StartSyncExecution" if two_way else "StartExecution"
    # AND a state machine on a real Step Functions (moto)
    client = _client("stepfunctions", moto_url)
    machine_arn = client.create_state_machine(
        name=f"echo-{two_way}",
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/states",
    )["stateMachineArn"]
    # WHEN the evaluated request is validated by botocore for the route's action and sent
    params = json.loads(_evaluate(template, machine_arn))
    _validate("stepfunctions", operation, params)
    execution_arn = client.start_execution(**params)["executionArn"]
    # THEN the execution's input is the envelope around the client's message
    described = client.describe_execution(executionArn=execution_arn)
    assert json.loads(described["input"]) == {**CONTEXT, "message": json.loads(FRAME)}
