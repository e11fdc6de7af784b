"""A WebSocket API whose routes use every non-Lambda integration, written with plain
aws-cdk-lib constructs only (L2 ``WebSocketMockIntegration``/``WebSocketAwsIntegration``,
L1 ``CfnIntegration`` for HTTP, ``CfnIntegrationResponse``, ``CfnRouteResponse``,
``CfnModel``). Run as ``CDK_OUTDIR=DIR HTTP_BACKEND=http://127.0.0.1:PORT python stack_app.py``.

Routes (all two-way unless said):
- ``$connect``: MOCK; ``?deny=yes`` → 403 through a ``/4\\d\\d/`` integration response.
- ``ping``: MOCK echoing ``payload`` with ``$context`` values and a stage variable.
- ``report``: SQS ``SendMessage`` (path URI, form body, connectionId as a message attribute);
  a worker Lambda on the queue (event source mapping, ReportBatchItemFailures) answers through
  ``@connections``; failed messages go to a DLQ after 2 receives.
- ``event``: EventBridge ``PutEvents`` on a custom bus.
- ``start`` / ``startsync``: Step Functions ``StartExecution`` (standard machine) and
  ``StartSyncExecution`` (express machine).
- ``put``: DynamoDB ``PutItem``. ``kinesis``: Kinesis ``PutRecord``.
- ``http``: HTTP_PROXY to the test's backend; ``httpt``: HTTP with templates and parameter
  mapping; ``remote``: HTTP_PROXY to a non-loopback host (refused without the flag).
- ``validated``: MOCK behind a request model (draft 4 schema).
- ``broken``: MOCK whose request template does not compile. ``lost`` (one-way): SQS
  ``SendMessage`` to a queue that does not exist.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn

HERE = Path(__file__).resolve().parent
DEFAULT = "\\$default"


class IntegrationsPlainStack(cdk.Stack):
    def __init__(self, scope: cdk.App, construct_id: str, *, backend: str) -> None:
        super().__init__(scope, construct_id)
        api = apigw.WebSocketApi(self, "Api")
        stage = apigw.WebSocketStage(
            self,
            "Dev",
            web_socket_api=api,
            stage_name="dev",
            auto_deploy=True,
            stage_variables={"mode": "plain"},
        )
        role = iam.Role(self, "Integrations", assumed_by=iam.ServicePrincipal("apigateway"))

        dlq = sqs.Queue(self, "Dead")
        queue = sqs.Queue(
            self,
            "Reports",
            visibility_timeout=cdk.Duration.seconds(2),
            dead_letter_queue=sqs.DeadLetterQueue(queue=dlq, max_receive_count=2),
        )
        queue.grant_send_messages(role)
        worker = lambda_.Function(
            self,
            "Worker",
            runtime=lambda_.Runtime.PYTHON_3_12,
            handler="worker.handler",
            code=lambda_.Code.from_asset(str(HERE / "handlers"), exclude=["__pycache__"]),
            timeout=cdk.Duration.seconds(2),
            environment={"MANAGEMENT_ENDPOINT": stage.callback_url},
        )
        worker.add_event_source(
            sources.SqsEventSource(
                queue,
                batch_size=5,
                max_batching_window=cdk.Duration.seconds(1),
                report_batch_item_failures=True,
            )
        )
        stage.grant_management_api_access(worker)

        bus = events.EventBus(self, "Bus", event_bus_name="plain-bus")
        bus.grant_put_events_to(role)
        standard = sfn.StateMachine(
            self,
            "Standard",
            definition_body=sfn.DefinitionBody.from_chainable(sfn.Pass(self, "Noop")),
        )
        express = sfn.StateMachine(
            self,
            "Express",
            state_machine_type=sfn.StateMachineType.EXPRESS,
            definition_body=sfn.DefinitionBody.from_chainable(
                sfn.Pass(self, "Greet", parameters={"greeting.$": "$.name"})
            ),
        )
        standard.grant_start_execution(role)
        express.grant_start_sync_execution(role)
        items = dynamodb.TableV2(
            self,
            "Items",
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
        )
        items.grant_write_data(role)
        stream = kinesis.Stream(self, "Stream", shard_count=1)
        stream.grant_write(role)

        def aws(
            name: str, service: str, action_or_path: str, template: str, **extra: object
        ) -> object:
            return integrations.WebSocketAwsIntegration(
                name,
                integration_method="POST",
                integration_uri=f"arn:aws:apigateway:{self.region}:{service}:{action_or_path}",
                credentials_role=role,
                request_templates={"$default": template},
                template_selection_expression=DEFAULT,
                **extra,  # type: ignore[arg-type]
            )

        def integration_id(route: apigw.WebSocketRoute) -> str:
            # The L2 route does not expose its integration; its target is "integrations/{id}".
            target = route.node.default_child.target  # type: ignore[union-attr]
            return cdk.Fn.select(1, cdk.Fn.split("/", target))

        def respond(
            route: apigw.WebSocketRoute | None,
            template: str | None,
            key: str = "$default",
            *,
            ids: tuple[str, str] | None = None,
            name: str = "",
        ) -> None:
            # An integration response (with a template) and a route response: a two-way route.
            integration, route_id = ids or (integration_id(route), route.route_id)  # type: ignore[arg-type, union-attr]
            scope = route or self
            if template is not None:
                apigw.CfnIntegrationResponse(
                    scope,
                    f"{name}Response",
                    api_id=api.api_id,
                    integration_id=integration,
                    integration_response_key=key,
                    response_templates={"$default": template},
                    template_selection_expression=DEFAULT,
                )
            apigw.CfnRouteResponse(
                scope,
                f"{name}RouteResponse",
                api_id=api.api_id,
                route_id=route_id,
                route_response_key="$default",
            )

        def mock(template: str) -> integrations.WebSocketMockIntegration:
            return integrations.WebSocketMockIntegration(
                f"mock-{abs(hash(template)) % 10**8}",
                request_templates={"$default": template},
                template_selection_expression=DEFAULT,
            )

        connect = api.add_route(
            "$connect",
            integration=mock(
                '#if($input.params("deny") == "yes"){"statusCode": 403}#else{"statusCode": 200}#end'
            ),
        )
        for key in ("/2\\d\\d/", "/4\\d\\d/"):
            apigw.CfnIntegrationResponse(
                connect,
                f"Response{key[1]}",
                api_id=api.api_id,
                integration_id=integration_id(connect),
                integration_response_key=key,
            )

        ping = api.add_route(
            "ping", integration=mock('{"statusCode": 200, "payload": $input.json(\'$.payload\')}')
        )
        respond(
            ping,
            '{"pong": true, "payload": $input.json(\'$.payload\'), '
            '"connectionId": "$context.connectionId", "routeKey": "$context.routeKey", '
            '"eventType": "$context.eventType", "stage": "$context.stage", '
            '"mode": "$stageVariables.mode", "sourceIp": "$context.identity.sourceIp"}',
        )

        report = api.add_route(
            "report",
            integration=aws(
                "Report",
                "sqs",
                f"path/{self.account}/{queue.queue_name}",
                "Action=SendMessage&MessageBody=$util.urlEncode($input.body)"
                "&MessageAttribute.1.Name=connectionId"
                "&MessageAttribute.1.Value.DataType=String"
                "&MessageAttribute.1.Value.StringValue=$util.urlEncode($context.connectionId)",
                request_parameters={
                    "integration.request.header.Content-Type": "'application/x-www-form-urlencoded'"
                },
            ),
        )
        respond(report, '{"queued": true, "requestId": "$context.requestId"}', key="/2\\d\\d/")

        event = api.add_route(
            "event",
            integration=aws(
                "Event",
                "events",
                "action/PutEvents",
                '{"Entries": [{"Source": "ws.plain", "DetailType": "message", "EventBusName": "'
                + bus.event_bus_name
                + '", "Detail": '
                + '"$util.escapeJavaScript($input.body).replaceAll("\\\\\'", "\'")"}]}',
            ),
        )
        respond(
            event,
            '{"eventId": "$input.path(\'$.Entries[0].EventId\')", '
            "\"failed\": $input.path('$.FailedEntryCount')}",
        )

        start = api.add_route(
            "start",
            integration=aws(
                "Start",
                "states",
                "action/StartExecution",
                '{"stateMachineArn": "'
                + standard.state_machine_arn
                + '", "input": "$util.escapeJavaScript($input.json(\'$.input\'))"}',
            ),
        )
        respond(start, '{"executionArn": "$input.path(\'$.executionArn\')"}')

        startsync = api.add_route(
            "startsync",
            integration=aws(
                "StartSync",
                "states",
                "action/StartSyncExecution",
                '{"stateMachineArn": "'
                + express.state_machine_arn
                + '", "input": "$util.escapeJavaScript($input.json(\'$.input\'))"}',
            ),
        )
        respond(
            startsync,
            '{"status": "$input.path(\'$.status\')", "output": $input.path(\'$.output\')}',
        )

        put = api.add_route(
            "put",
            integration=aws(
                "Put",
                "dynamodb",
                "action/PutItem",
                '{"TableName": "'
                + items.table_name
                + '", "Item": {"pk": {"S": "$context.connectionId"}, '
                '"text": {"S": "$input.path(\'$.text\')"}}}',
            ),
        )
        respond(put, '{"stored": true}')

        record = api.add_route(
            "kinesis",
            integration=aws(
                "Kinesis",
                "kinesis",
                "action/PutRecord",
                '{"StreamName": "'
                + stream.stream_name
                + '", "Data": "$util.base64Encode($input.body)", '
                '"PartitionKey": "$context.connectionId"}',
            ),
        )
        respond(record, '{"shard": "$input.path(\'$.ShardId\')"}')

        api.add_route(
            "lost",
            integration=aws(
                "Lost",
                "sqs",
                f"path/{self.account}/no-such-queue",
                "Action=SendMessage&MessageBody=$util.urlEncode($input.body)",
                request_parameters={
                    "integration.request.header.Content-Type": "'application/x-www-form-urlencoded'"
                },
            ),
        )

        def http(key: str, url: str, integration_type: str, **props: object) -> None:
            integration = apigw.CfnIntegration(
                self,
                f"Http{key.capitalize()}",
                api_id=api.api_id,
                integration_type=integration_type,
                integration_method="POST",
                integration_uri=url,
                **props,  # type: ignore[arg-type]
            )
            route = apigw.CfnRoute(
                self,
                f"Route{key.capitalize()}",
                api_id=api.api_id,
                route_key=key,
                target=f"integrations/{integration.ref}",
            )
            respond(
                None,
                "{\"fromBackend\": $input.json('$')}" if integration_type == "HTTP" else None,
                "/2\\d\\d/",
                ids=(integration.ref, route.ref),
                name=f"Http{key.capitalize()}",
            )

        http("http", f"{backend}/proxy", "HTTP_PROXY")
        http(
            "httpt",
            backend + "/templated/{id}",
            "HTTP",
            request_templates={"$default": '{"wrapped": $input.body}'},
            template_selection_expression=DEFAULT,
            request_parameters={
                "integration.request.header.X-Connection": "context.connectionId",
                "integration.request.querystring.mode": "stageVariables.mode",
                "integration.request.path.id": "route.request.body.id",
                "integration.request.header.X-Static": "'fixed'",
            },
            timeout_in_millis=5000,
        )
        http("remote", "http://example.com/anything", "HTTP_PROXY")

        validated = api.add_route(
            "validated", integration=mock('{"statusCode": 200, "text": $input.json(\'$.text\')}')
        )
        apigw.CfnModel(
            self,
            "MessageModel",
            api_id=api.api_id,
            name="Message",
            content_type="application/json",
            schema={
                "$schema": "http://json-schema.org/draft-04/schema#",
                "type": "object",
                "required": ["action", "text"],
                "properties": {"text": {"type": "string", "maxLength": 20}},
            },
        )
        cfn_validated = validated.node.default_child
        cfn_validated.add_property_override("ModelSelectionExpression", DEFAULT)  # type: ignore[union-attr]
        cfn_validated.add_property_override("RequestModels", {"$default": "Message"})  # type: ignore[union-attr]
        respond(validated, '{"valid": true, "text": $input.json(\'$.text\')}')

        broken = api.add_route("broken", integration=mock("#if($input.body"))
        respond(broken, "never")

        cdk.CfnOutput(self, "Queue", value=queue.queue_name)
        cdk.CfnOutput(self, "DeadLetterQueue", value=dlq.queue_name)
        cdk.CfnOutput(self, "ItemsTable", value=items.table_name)
        cdk.CfnOutput(self, "StreamName", value=stream.stream_name)
        cdk.CfnOutput(self, "Models", value=json.dumps(["Message"]))


app = cdk.App()
IntegrationsPlainStack(
    app,
    "IntegrationsPlainStack",
    backend=os.environ.get("HTTP_BACKEND", "http://127.0.0.1:9"),
)
app.synth()
