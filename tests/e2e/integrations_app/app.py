"""Stacks whose routes use every non-Lambda integration, for end-to-end runs and template tests.

``CDK_OUTDIR=DIR python app.py`` synthesizes both without the CDK CLI.

``IntegrationsStack``: a :class:`~cdk_ws_api.WebSocketApi` (stage ``dev``, selection expression
``$request.body.action``) using every helper of ``cdk_ws_api.integrations``:

=========== ===================================================== ==============================
route       integration                                           the client gets
=========== ===================================================== ==============================
$connect    ``MockIntegration()``; ``?token=`` required            connection accepted (no token:
                                                                  refused by API Gateway)
$disconnect ``MockIntegration()``                                  -
$default    ``MockIntegration({...})``                             ``{"error": "unknown action",
                                                                  ...}``
ping        ``MockIntegration(template)``, request model          ``{"action": "pong",
                                                                  "connectionId", "requestId"}``
greet       ``MockIntegration(template)``, model requiring name   ``{"hello": NAME}``; a message
                                                                  without ``name``: API Gateway's
                                                                  ``Bad request body`` frame
report      ``SqsIntegration(queue)`` (one-way)                    the worker's
                                                                  ``{"worker": msg, ...}`` through
                                                                  ``@connections``
order       ``SqsIntegration(fifo, GROUP_BY_CONNECTION)``          ``{"status": "queued",
                                                                  "requestId"}``
event       ``EventBridgeIntegration(bus, ...)``                   ``{"eventId",
                                                                  "failedEntryCount"}`` (a rule
                                                                  copies the events to the
                                                                  ``EventsCopy`` queue)
flow        ``StepFunctionsIntegration(express)`` (sync)           the execution's output
start       ``StepFunctionsIntegration(standard)``                 ``{"executionArn"}``
http        ``HttpIntegration(URL)`` (HTTP_PROXY)                  the endpoint's response body
mapped      ``HttpIntegration(URL + "mapped", proxy=False)``       ``{"backend": <its body>}``
=========== ===================================================== ==============================

The HTTP endpoint is ``$INTEGRATIONS_HTTP_URL`` (default ``http://127.0.0.1:8765/``): start a
loopback server there before running the emulator.

``PlainIntegrationsStack``: the same ideas written with plain aws-cdk-lib L2s only
(``WebSocketAwsIntegration`` to SQS with a hand-written template and credentials role,
``WebSocketMockIntegration``, ``CfnIntegrationResponse``): ``$connect`` and ``$default``
mocks, ``ping`` (mock, answers ``{"pong": true, "connectionId"}``) and ``enqueue`` (SQS,
answers ``{"queued": true}``; the worker then answers through ``@connections``). Stage ``v1``.
"""

from __future__ import annotations

import os
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as apigwv2_integrations
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from cdk_ws_api import (
    EventBridgeIntegration,
    HttpIntegration,
    MockIntegration,
    RouteOptions,
    SqsIntegration,
    StageOptions,
    StepFunctionsIntegration,
    WebSocketApi,
)

HERE = Path(__file__).resolve().parent
HTTP_URL = os.environ.get("INTEGRATIONS_HTTP_URL", "http://127.0.0.1:8765/")
#: The source of the events the ``event`` route puts.
EVENT_SOURCE = "cdk-ws-api.e2e"


def _acknowledge(construct: Construct, rule_id: str, reason: str) -> None:
    cdk.Validations.of(construct).acknowledge(cdk.Acknowledgment(id=rule_id, reason=reason))


def _queue(scope: Construct, id: str, *, fifo: bool = False) -> sqs.Queue:
    """A queue with its dead-letter queue (3 receives), TLS enforced, destroyed with the stack."""
    dead_letters = sqs.Queue(
        scope,
        f"{id}DeadLetters",
        fifo=fifo or None,
        enforce_ssl=True,
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )
    return sqs.Queue(
        scope,
        id,
        fifo=fifo or None,
        enforce_ssl=True,
        removal_policy=cdk.RemovalPolicy.DESTROY,
        visibility_timeout=cdk.Duration.seconds(30),
        dead_letter_queue=sqs.DeadLetterQueue(queue=dead_letters, max_receive_count=3),
    )


def _worker(scope: Construct, queue: sqs.IQueue, callback_url: str) -> lambda_.Function:
    """The SQS worker (``handlers/worker.py``) of ``queue``, answering on ``callback_url``."""
    worker = lambda_.Function(
        scope,
        "Worker",
        runtime=lambda_.Runtime.PYTHON_3_14,
        handler="worker.handler",
        code=lambda_.Code.from_asset(str(HERE / "handlers"), exclude=["__pycache__", "*.pyc"]),
        timeout=cdk.Duration.seconds(10),
        environment={"CALLBACK_URL": callback_url},
        log_group=logs.LogGroup(
            scope,
            "WorkerLogs",
            retention=logs.RetentionDays.ONE_DAY,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        ),
    )
    worker.add_event_source(
        event_sources.SqsEventSource(
            queue,
            batch_size=5,
            max_batching_window=cdk.Duration.seconds(1),
            report_batch_item_failures=True,
        )
    )
    _acknowledge(
        worker,
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
        "AWSLambdaBasicExecutionRole]",
        "Test worker: the basic execution role (its own logs) is all it needs besides the "
        "queue and @connections grants.",
    )
    return worker


def _state_machine(
    scope: Construct, id: str, state_machine_type: sfn.StateMachineType
) -> sfn.StateMachine:
    """A one-state machine answering ``{"echo": message, "connectionId"}``, logged and traced."""
    machine = sfn.StateMachine(
        scope,
        id,
        state_machine_type=state_machine_type,
        definition_body=sfn.DefinitionBody.from_chainable(
            sfn.Pass(
                scope,
                f"{id}Echo",
                parameters={"echo.$": "$.message", "connectionId.$": "$.connectionId"},
            )
        ),
        logs=sfn.LogOptions(
            destination=logs.LogGroup(
                scope,
                f"{id}Logs",
                retention=logs.RetentionDays.ONE_DAY,
                removal_policy=cdk.RemovalPolicy.DESTROY,
            ),
            level=sfn.LogLevel.ALL,
        ),
        tracing_enabled=True,
    )
    _acknowledge(
        machine,
        "AwsSolutions-IAM5[Resource::*]",
        "aws-cdk-lib's log delivery and X-Ray statements of a test state machine (Resource *, "
        "as CloudWatch Logs and X-Ray require).",
    )
    return machine


class IntegrationsStack(cdk.Stack):
    """A ``WebSocketApi`` with every integration helper (see the module docstring)."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        self.reports = _queue(self, "Reports")
        self.orders = _queue(self, "Orders", fifo=True)
        self.bus = events.EventBus(self, "Bus")
        self.events_copy = _queue(self, "EventsCopy")
        events.Rule(
            self,
            "CopyEvents",
            event_bus=self.bus,
            event_pattern=events.EventPattern(source=[EVENT_SOURCE]),
            targets=[targets.SqsQueue(self.events_copy)],
        )
        self.express = _state_machine(self, "Express", sfn.StateMachineType.EXPRESS)
        self.standard = _state_machine(self, "Standard", sfn.StateMachineType.STANDARD)

        greeting_model = {
            "type": "object",
            "properties": {"action": {"type": "string"}, "name": {"type": "string"}},
            "required": ["action", "name"],
        }
        self.api = WebSocketApi(
            self,
            "IntegrationsApi",
            api_name="integrations",
            connect=RouteOptions(
                integration=MockIntegration(),
                request_parameters={"route.request.querystring.token": True},
            ),
            disconnect=MockIntegration(),
            default=RouteOptions(
                integration=MockIntegration(
                    {"error": "unknown action", "actions": ["ping", "greet", "report"]}
                ),
                return_response=True,
            ),
            routes={
                "ping": RouteOptions(
                    integration=MockIntegration(
                        '{"action": "pong", "connectionId": "$context.connectionId", '
                        '"requestId": "$context.requestId"}'
                    ),
                    return_response=True,
                    request_model={"type": "object", "required": ["action"]},
                ),
                "greet": RouteOptions(
                    integration=MockIntegration('{"hello": "$input.path(\'$.name\')"}'),
                    return_response=True,
                    request_model=greeting_model,
                ),
                "report": SqsIntegration(self.reports),
                "order": RouteOptions(
                    integration=SqsIntegration(
                        self.orders, message_group_id=SqsIntegration.GROUP_BY_CONNECTION
                    ),
                    return_response=True,
                ),
                "event": RouteOptions(
                    integration=EventBridgeIntegration(
                        self.bus, source=EVENT_SOURCE, detail_type="chat message"
                    ),
                    return_response=True,
                ),
                "flow": RouteOptions(
                    integration=StepFunctionsIntegration(self.express), return_response=True
                ),
                "start": RouteOptions(
                    integration=StepFunctionsIntegration(self.standard), return_response=True
                ),
                "http": RouteOptions(integration=HttpIntegration(HTTP_URL), return_response=True),
                "mapped": RouteOptions(
                    integration=HttpIntegration(
                        HTTP_URL.rstrip("/") + "/mapped",
                        proxy=False,
                        timeout=cdk.Duration.seconds(5),
                        request_templates={
                            "$default": '{"wrapped": $input.body, '
                            '"connectionId": "$context.connectionId"}'
                        },
                        request_parameters={
                            "integration.request.header.X-Connection-Id": "context.connectionId",
                            "integration.request.header.X-Source": "'cdk-ws-api'",
                        },
                        response_template='{"backend": $input.body}',
                    ),
                    return_response=True,
                ),
            },
            stages=[StageOptions(stage_name="dev")],
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        _acknowledge(
            self.api.routes["$connect"],
            "AwsSolutions-APIG4",
            "Test API: the mock $connect accepts every client that gives a token.",
        )
        self.worker = _worker(self, self.reports, self.api.callback_urls["dev"])
        self.api.grant_manage_connections(self.worker, methods=("POST",))


def _accepting_mock(id: str) -> apigwv2_integrations.WebSocketMockIntegration:
    """aws-cdk-lib's mock integration reporting status 200 (its integration response, made by
    hand in the plain stack, is the answer)."""
    return apigwv2_integrations.WebSocketMockIntegration(
        id,
        request_templates={"$default": '{"statusCode": 200}'},
        template_selection_expression="\\$default",
    )


class PlainIntegrationsStack(cdk.Stack):
    """Plain aws-cdk-lib L2s: a mock and an SQS route written by hand (module docstring)."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        self.queue = _queue(self, "Enqueued")
        api = apigwv2.WebSocketApi(
            self,
            "PlainIntegrationsApi",
            api_name="plain-integrations",
            connect_route_options=apigwv2.WebSocketRouteOptions(
                integration=_accepting_mock("ConnectMock")
            ),
        )
        default = api.add_route(
            "$default",
            integration=_accepting_mock("DefaultMock"),
            return_response=True,
        )
        ping = api.add_route(
            "ping",
            integration=_accepting_mock("PingMock"),
            return_response=True,
        )
        role = iam.Role(
            self, "EnqueueRole", assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com")
        )
        self.queue.grant_send_messages(role)
        enqueue = api.add_route(
            "enqueue",
            integration=apigwv2_integrations.WebSocketAwsIntegration(
                "EnqueueSqs",
                integration_method="POST",
                integration_uri=(
                    f"arn:{cdk.Aws.PARTITION}:apigateway:{cdk.Aws.REGION}:sqs:path/"
                    f"{cdk.Aws.ACCOUNT_ID}/{self.queue.queue_name}"
                ),
                credentials_role=role,
                request_parameters={
                    "integration.request.header.Content-Type": (
                        "'application/x-www-form-urlencoded'"
                    )
                },
                request_templates={
                    "$default": "Action=SendMessage&MessageBody=$util.urlEncode($input.body)"
                    "&MessageAttribute.1.Name=connectionId"
                    "&MessageAttribute.1.Value.DataType=String"
                    "&MessageAttribute.1.Value.StringValue=$context.connectionId"
                    "&MessageAttribute.2.Name=routeKey"
                    "&MessageAttribute.2.Value.DataType=String"
                    "&MessageAttribute.2.Value.StringValue=$context.routeKey"
                    "&MessageAttribute.3.Name=requestId"
                    "&MessageAttribute.3.Value.DataType=String"
                    "&MessageAttribute.3.Value.StringValue=$context.requestId"
                },
                template_selection_expression="\\$default",
                passthrough_behavior=apigwv2.PassthroughBehavior.NEVER,
            ),
            return_response=True,
        )
        for route, integration_id, template in (
            (ping, "PingMock", '{"pong": true, "connectionId": "$context.connectionId"}'),
            (enqueue, "EnqueueSqs", '{"queued": true}'),
            (default, "DefaultMock", '{"error": "unknown action"}'),
        ):
            integration = route.node.find_child(integration_id)
            assert isinstance(integration, apigwv2.WebSocketIntegration)
            apigwv2.CfnIntegrationResponse(
                self,
                f"{integration_id}Response",
                api_id=api.api_id,
                integration_id=integration.integration_id,
                integration_response_key="$default",
                response_templates={"$default": template},
                template_selection_expression="\\$default",
            )
        stage = apigwv2.WebSocketStage(
            self, "V1", web_socket_api=api, stage_name="v1", auto_deploy=True
        )
        worker = _worker(self, self.queue, stage.callback_url)
        stage.grant_management_api_access(worker)


def build_app(outdir: str | None = None) -> cdk.App:
    app = cdk.App(outdir=outdir) if outdir else cdk.App()
    IntegrationsStack(app, "IntegrationsStack")
    PlainIntegrationsStack(app, "PlainIntegrationsStack")
    return app


if __name__ == "__main__":
    build_app().synth()
