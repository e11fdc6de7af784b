"""Routes on non-Lambda integrations: the template every helper makes (aws_cdk.assertions),
cfn-lint and cdk-nag on a stack using every helper, template options, request models and
request parameters, and aws-cdk-lib's own integrations through the same seam.

The stack using every helper is the e2e app's ``IntegrationsStack``
(``tests/e2e/integrations_app/app.py``), so the template the emulator runs end to end is the
one checked here.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from aws_cdk import App, Duration, Stack, Validations
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as apigwv2_integrations
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks
from constructs_helpers import python_function, synth

from cdk_ws_api import (
    EventBridgeIntegration,
    MockIntegration,
    RouteOptions,
    SqsIntegration,
    StepFunctionsIntegration,
    WebSocketApi,
)
from cdk_ws_api.integrations_base import ERROR_FRAME_TEMPLATE

APP_FILE = Path(__file__).resolve().parents[1] / "e2e" / "integrations_app" / "app.py"

INTEGRATION = "AWS::ApiGatewayV2::Integration"
INTEGRATION_RESPONSE = "AWS::ApiGatewayV2::IntegrationResponse"
ROUTE = "AWS::ApiGatewayV2::Route"


def _load_app() -> ModuleType:
    spec = importlib.util.spec_from_file_location("integrations_e2e_app", APP_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


integrations_app = _load_app()


@pytest.fixture(scope="module")
def every_helper() -> Template:
    app = App()
    return synth(integrations_app.IntegrationsStack(app, "IntegrationsStack"))


@pytest.fixture(scope="module")
def plain_l2() -> Template:
    app = App()
    return synth(integrations_app.PlainIntegrationsStack(app, "PlainIntegrationsStack"))


# --- helpers over the template -----------------------------------------------------------------


def _route(template: Template, key: str) -> tuple[str, dict[str, Any]]:
    routes = template.find_resources(ROUTE, {"Properties": {"RouteKey": key}})
    assert len(routes) == 1, f"no single route {key!r}"
    ((logical_id, route),) = routes.items()
    return logical_id, route["Properties"]


def _integration_of(template: Template, key: str) -> tuple[str, dict[str, Any]]:
    _, route = _route(template, key)
    logical_id = route["Target"]["Fn::Join"][1][1]["Ref"]
    return logical_id, template.to_json()["Resources"][logical_id]["Properties"]


def _integration_responses(template: Template, integration_id: str) -> dict[str, dict[str, Any]]:
    return {
        r["Properties"]["IntegrationResponseKey"]: r["Properties"]
        for r in template.find_resources(
            INTEGRATION_RESPONSE, {"Properties": {"IntegrationId": {"Ref": integration_id}}}
        ).values()
    }


def _text(value: Any) -> str:
    """A template string, with ``Fn::Join`` parts (ARNs) rendered as ``<token>``."""
    if isinstance(value, str):
        return value
    return "".join(p if isinstance(p, str) else "<token>" for p in value["Fn::Join"][1])


def _role_statements(template: Template, role_ref: dict[str, Any]) -> list[dict[str, Any]]:
    role_id = role_ref["Fn::GetAtt"][0]
    policies = template.find_resources(
        "AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": role_id}]}}
    )
    return [s for p in policies.values() for s in p["Properties"]["PolicyDocument"]["Statement"]]


def _render_envelope(template: str, body: str, context: dict[str, str]) -> Any:
    """Evaluate the helpers' envelope template the way API Gateway does, for the few VTL
    features it uses: ``$message`` is ``$util.escapeJavaScript($input.body)`` with ``\\'``
    turned back into ``'`` (that is: the body escaped for a JSON string), ``$context.*``
    the given values. Returns the parsed JSON request."""
    first_line, rest = template.split("\n", 1)
    assert first_line.startswith("#set($message = $util.escapeJavaScript($input.body)")
    text = rest.replace("$message", json.dumps(body)[1:-1])
    for name, value in context.items():
        text = text.replace(f"$context.{name}", value)
    assert "$" not in text.replace("$default", ""), text
    return json.loads(text)


# --- the stack using every helper: cfn-lint (in synth), cdk-nag, the whole wiring ---------------


def test_every_helper_stack_has_no_unacknowledged_cdk_nag_finding(tmp_path: Path) -> None:
    # GIVEN the stack using every helper under the AwsSolutions pack
    app = App(outdir=str(tmp_path))
    Validations.of(app).add_plugins(AwsSolutionsChecks())
    integrations_app.IntegrationsStack(app, "IntegrationsStack")
    # WHEN synthesized (a finding makes the synth raise)
    app.synth()
    # THEN the report lists no violation
    report = json.loads((tmp_path / "validation-report.json").read_text())
    violations = [v for r in report["pluginReports"] for v in r.get("violations", [])]
    assert violations == []


def test_no_helper_resource_needs_an_acknowledgement() -> None:
    # GIVEN the stack using every helper
    app = App()
    stack = integrations_app.IntegrationsStack(app, "IntegrationsStack")
    # THEN the only acknowledgements are the test's own resources' and the routes' APIG4:
    # nothing the helpers create (roles, policies, integrations) has a finding to explain
    acknowledged = {
        construct.node.path: [m.data for m in construct.node.metadata if m.type == metadata_key]
        for construct in stack.node.find_all()
        for metadata_key in [Validations.ACKNOWLEDGED_RULES_METADATA_KEY]
        if any(m.type == metadata_key for m in construct.node.metadata)
    }
    assert acknowledged  # the detection works: the test's own resources are acknowledged
    helper_paths = [
        p
        for p in acknowledged
        if re.search(r"(Sqs|EventBridge|StepFunctions|Http|Mock)Integration", p)
    ]
    assert helper_paths == []


def test_every_route_and_its_integration_type(every_helper: Template) -> None:
    types = {
        key: _integration_of(every_helper, key)[1]["IntegrationType"]
        for key in (
            "$connect",
            "$disconnect",
            "$default",
            "ping",
            "greet",
            "report",
            "order",
            "event",
            "flow",
            "start",
            "http",
            "mapped",
        )
    }
    assert types == {
        "$connect": "MOCK",
        "$disconnect": "MOCK",
        "$default": "MOCK",
        "ping": "MOCK",
        "greet": "MOCK",
        "report": "AWS",
        "order": "AWS",
        "event": "AWS",
        "flow": "AWS",
        "start": "AWS",
        "http": "HTTP_PROXY",
        "mapped": "HTTP",
    }
    # no Lambda integration was made for any of them
    every_helper.resource_count_is(INTEGRATION, 12)
    assert not every_helper.find_resources(
        INTEGRATION, {"Properties": {"IntegrationType": "AWS_PROXY"}}
    )


def test_credentials_roles_allow_one_action_on_one_resource(every_helper: Template) -> None:
    # GIVEN every integration that calls an AWS service
    aws = every_helper.find_resources(INTEGRATION, {"Properties": {"IntegrationType": "AWS"}})
    assert len(aws) == 5
    for integration in aws.values():
        role_ref = integration["Properties"]["CredentialsArn"]
        role = every_helper.to_json()["Resources"][role_ref["Fn::GetAtt"][0]]
        # THEN its role is assumed by API Gateway only ...
        assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
            {
                "Action": "sts:AssumeRole",
                "Effect": "Allow",
                "Principal": {"Service": "apigateway.amazonaws.com"},
            }
        ]
        assert "ManagedPolicyArns" not in role["Properties"]
        # ... and may do one thing on one resource, which the integration URI names
        statements = _role_statements(every_helper, role_ref)
        assert len(statements) == 1
        (statement,) = statements
        assert isinstance(statement["Action"], str) and "*" not in statement["Action"]
        assert isinstance(statement["Resource"], dict)  # one Ref/GetAtt, not a list or "*"
        service, action = statement["Action"].split(":")
        uri = _text(integration["Properties"]["IntegrationUri"])
        assert f":{service}:" in uri
        assert uri.endswith(f"action/{action}") or service == "sqs"


def test_sqs_send_message_carries_body_and_context_attributes(every_helper: Template) -> None:
    integration_id, integration = _integration_of(every_helper, "report")
    assert integration["IntegrationMethod"] == "POST"
    assert integration["PassthroughBehavior"] == "NEVER"
    assert integration["TemplateSelectionExpression"] == "\\$default"
    assert integration["RequestParameters"] == {
        "integration.request.header.Content-Type": "'application/x-www-form-urlencoded'"
    }
    uri = integration["IntegrationUri"]["Fn::Join"][1]
    assert uri[4] == ":sqs:path/" and uri[5] == {"Ref": "AWS::AccountId"} and uri[6] == "/"
    queue_id, attribute = uri[7]["Fn::GetAtt"]
    assert attribute == "QueueName" and queue_id.startswith("Reports")
    fields = dict(p.split("=", 1) for p in integration["RequestTemplates"]["$default"].split("&"))
    assert fields["Action"] == "SendMessage"
    assert fields["MessageBody"] == "$util.urlEncode($input.body)"
    attributes = {
        fields[f"MessageAttribute.{n}.Name"]: fields[f"MessageAttribute.{n}.Value.StringValue"]
        for n in (1, 2, 3)
    }
    assert attributes == {
        "connectionId": "$util.urlEncode($context.connectionId)",
        "routeKey": "$util.urlEncode($context.routeKey)",
        "requestId": "$util.urlEncode($context.requestId)",
    }
    assert {fields[f"MessageAttribute.{n}.Value.DataType"] for n in (1, 2, 3)} == {"String"}
    assert "MessageGroupId" not in fields and "MessageDeduplicationId" not in fields
    # one-way route: no integration response, no route response
    assert _integration_responses(every_helper, integration_id) == {}
    assert "RouteResponseSelectionExpression" not in _route(every_helper, "report")[1]


def test_sqs_fifo_groups_by_connection_and_answers_on_a_two_way_route(
    every_helper: Template,
) -> None:
    integration_id, integration = _integration_of(every_helper, "order")
    fields = dict(p.split("=", 1) for p in integration["RequestTemplates"]["$default"].split("&"))
    assert fields["MessageGroupId"] == "$util.urlEncode($context.connectionId)"
    assert fields["MessageDeduplicationId"] == "$util.urlEncode($context.requestId)"
    responses = _integration_responses(every_helper, integration_id)
    assert set(responses) == {"/2\\d\\d/", "$default"}
    assert responses["/2\\d\\d/"]["ResponseTemplates"] == {
        "$default": '{"status": "queued", "requestId": "$context.requestId"}'
    }
    assert responses["$default"]["ResponseTemplates"] == {"$default": ERROR_FRAME_TEMPLATE}
    assert {r["TemplateSelectionExpression"] for r in responses.values()} == {"\\$default"}
    route_id, route = _route(every_helper, "order")
    assert route["RouteResponseSelectionExpression"] == "$default"
    every_helper.has_resource_properties(
        "AWS::ApiGatewayV2::RouteResponse",
        {"RouteId": {"Ref": route_id}, "RouteResponseKey": "$default"},
    )


def test_sqs_literal_group_id_is_url_encoded() -> None:
    stack = Stack(App(), "Literal")
    queue = sqs.Queue(stack, "Q", fifo=True)
    WebSocketApi(stack, "Api", default=SqsIntegration(queue, message_group_id="chat/room:1"))
    template = Template.from_stack(stack)
    _, integration = _integration_of(template, "$default")
    assert "&MessageGroupId=chat%2Froom%3A1&" in integration["RequestTemplates"]["$default"]


def test_sqs_on_a_kms_encrypted_queue_may_use_its_key() -> None:
    # GIVEN a queue encrypted with its own key
    stack = Stack(App(), "Kms")
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    queue = sqs.Queue(stack, "Q", encryption=sqs.QueueEncryption.KMS, encryption_master_key=key)
    WebSocketApi(stack, "Api", default=SqsIntegration(queue))
    template = synth(stack)
    _, integration = _integration_of(template, "$default")
    statements = _role_statements(template, integration["CredentialsArn"])
    # THEN the role may send to that queue and encrypt with that key, nothing else
    queue_arn = {"Fn::GetAtt": [_logical_id(template, "AWS::SQS::Queue"), "Arn"]}
    key_arn = {"Fn::GetAtt": [_logical_id(template, "AWS::KMS::Key"), "Arn"]}
    assert statements == [
        {"Action": "sqs:SendMessage", "Effect": "Allow", "Resource": queue_arn},
        {"Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Effect": "Allow", "Resource": key_arn},
    ]


def _logical_id(template: Template, type_: str) -> str:
    (logical_id,) = template.find_resources(type_)
    return logical_id


def test_eventbridge_put_events_detail_carries_the_connection(every_helper: Template) -> None:
    integration_id, integration = _integration_of(every_helper, "event")
    assert integration["RequestParameters"] == {
        "integration.request.header.Content-Type": "'application/x-amz-json-1.1'",
        "integration.request.header.X-Amz-Target": "'AWSEvents.PutEvents'",
    }
    assert _text(integration["IntegrationUri"]).endswith(":events:action/PutEvents")
    # WHEN the template is evaluated for a message with quotes, an apostrophe and non-ASCII
    body = json.dumps({"action": "event", "text": 'it\'s "ok" \u2013 ünïcode \\ / done'})
    request = _render_envelope(
        _text(integration["RequestTemplates"]["$default"]),
        body,
        {"connectionId": "L0SM9cOFvHcCIhw=", "routeKey": "event", "requestId": "abc="},
    )
    # THEN it is one PutEvents entry whose detail holds the connection and the message
    (entry,) = request["Entries"]
    assert entry["EventBusName"] == "<token>"
    assert entry["Source"] == integrations_app.EVENT_SOURCE
    assert entry["DetailType"] == "chat message"
    assert json.loads(entry["Detail"]) == {
        "connectionId": "L0SM9cOFvHcCIhw=",
        "routeKey": "event",
        "requestId": "abc=",
        "message": json.loads(body),
    }
    success = _integration_responses(every_helper, integration_id)["/2\\d\\d/"]
    assert "$input.path('$.Entries[0].EventId')" in success["ResponseTemplates"]["$default"]


def test_step_functions_sync_for_express_on_two_way_and_async_for_standard(
    every_helper: Template,
) -> None:
    flow_id, flow = _integration_of(every_helper, "flow")
    start_id, start = _integration_of(every_helper, "start")
    assert _text(flow["IntegrationUri"]).endswith(":states:action/StartSyncExecution")
    assert _text(start["IntegrationUri"]).endswith(":states:action/StartExecution")
    assert [s["Action"] for s in _role_statements(every_helper, flow["CredentialsArn"])] == [
        "states:StartSyncExecution"
    ]
    assert [s["Action"] for s in _role_statements(every_helper, start["CredentialsArn"])] == [
        "states:StartExecution"
    ]
    # the execution input is the envelope around the client's message
    body = '{"action": "flow", "n": 1}'
    request = _render_envelope(
        _text(flow["RequestTemplates"]["$default"]),
        body,
        {"connectionId": "c=", "routeKey": "flow", "requestId": "r="},
    )
    assert request["stateMachineArn"] == "<token>"
    assert json.loads(request["input"]) == {
        "connectionId": "c=",
        "routeKey": "flow",
        "requestId": "r=",
        "message": {"action": "flow", "n": 1},
    }
    sync_answer = _integration_responses(every_helper, flow_id)["/2\\d\\d/"]
    assert "$input.path('$.output')" in sync_answer["ResponseTemplates"]["$default"]
    async_answer = _integration_responses(every_helper, start_id)["/2\\d\\d/"]
    assert "$input.path('$.executionArn')" in async_answer["ResponseTemplates"]["$default"]


def test_step_functions_express_on_a_one_way_route_starts_asynchronously() -> None:
    stack = Stack(App(), "OneWay")
    machine = sfn.StateMachine(
        stack,
        "M",
        state_machine_type=sfn.StateMachineType.EXPRESS,
        definition_body=sfn.DefinitionBody.from_chainable(sfn.Pass(stack, "P")),
    )
    WebSocketApi(stack, "Api", routes={"go": StepFunctionsIntegration(machine)})
    template = Template.from_stack(stack)
    _, integration = _integration_of(template, "go")
    assert _text(integration["IntegrationUri"]).endswith(":states:action/StartExecution")


def test_imported_state_machine_is_sync_when_said_express() -> None:
    stack = Stack(App(), "Imported")
    machine = sfn.StateMachine.from_state_machine_arn(
        stack, "M", "arn:aws:states:us-east-1:123456789012:stateMachine:fast"
    )
    WebSocketApi(
        stack,
        "Api",
        routes={
            "go": RouteOptions(
                integration=StepFunctionsIntegration(machine, express=True),
                return_response=True,
            )
        },
    )
    template = Template.from_stack(stack)
    _, integration = _integration_of(template, "go")
    assert _text(integration["IntegrationUri"]).endswith(":states:action/StartSyncExecution")
    assert _role_statements(template, integration["CredentialsArn"]) == [
        {
            "Action": "states:StartSyncExecution",
            "Effect": "Allow",
            "Resource": "arn:aws:states:us-east-1:123456789012:stateMachine:fast",
        }
    ]


def test_http_proxy_passes_the_backend_answer_without_integration_responses(
    every_helper: Template,
) -> None:
    integration_id, integration = _integration_of(every_helper, "http")
    assert {k: v for k, v in integration.items() if k != "ApiId"} == {
        "IntegrationMethod": "POST",
        "IntegrationType": "HTTP_PROXY",
        "IntegrationUri": integrations_app.HTTP_URL,
    }
    assert _integration_responses(every_helper, integration_id) == {}
    assert _route(every_helper, "http")[1]["RouteResponseSelectionExpression"] == "$default"


def test_http_with_template_options(every_helper: Template) -> None:
    integration_id, integration = _integration_of(every_helper, "mapped")
    assert integration["IntegrationType"] == "HTTP"
    assert integration["TimeoutInMillis"] == 5000
    assert integration["IntegrationUri"] == integrations_app.HTTP_URL.rstrip("/") + "/mapped"
    assert integration["RequestParameters"] == {
        "integration.request.header.X-Connection-Id": "context.connectionId",
        "integration.request.header.X-Source": "'cdk-ws-api'",
    }
    assert integration["RequestTemplates"] == {
        "$default": '{"wrapped": $input.body, "connectionId": "$context.connectionId"}'
    }
    assert integration["TemplateSelectionExpression"] == "\\$default"
    assert "CredentialsArn" not in integration
    responses = _integration_responses(every_helper, integration_id)
    assert responses["/2\\d\\d/"]["ResponseTemplates"] == {"$default": '{"backend": $input.body}'}


def test_mock_connect_accepts_and_requires_the_token(every_helper: Template) -> None:
    integration_id, integration = _integration_of(every_helper, "$connect")
    assert integration["RequestTemplates"] == {"$default": '{"statusCode": 200}'}
    assert integration["TemplateSelectionExpression"] == "\\$default"
    # a mock's answer is its integration response: present on the one-way $connect too
    assert set(_integration_responses(every_helper, integration_id)) == {"/2\\d\\d/", "$default"}
    _, route = _route(every_helper, "$connect")
    assert route["RequestParameters"] == {"route.request.querystring.token": {"Required": True}}
    assert "RouteResponseSelectionExpression" not in route


def test_mock_answers_fixed_json_and_templates(every_helper: Template) -> None:
    default_id, _ = _integration_of(every_helper, "$default")
    fixed = _integration_responses(every_helper, default_id)["/2\\d\\d/"]
    assert json.loads(fixed["ResponseTemplates"]["$default"]) == {
        "error": "unknown action",
        "actions": ["ping", "greet", "report"],
    }
    ping_id, _ = _integration_of(every_helper, "ping")
    templated = _integration_responses(every_helper, ping_id)["/2\\d\\d/"]
    assert "$context.connectionId" in templated["ResponseTemplates"]["$default"]


def test_mock_status_code_is_its_request_template() -> None:
    stack = Stack(App(), "Refuse")
    WebSocketApi(stack, "Api", connect=MockIntegration(status_code=403))
    _, integration = _integration_of(Template.from_stack(stack), "$connect")
    assert integration["RequestTemplates"] == {"$default": '{"statusCode": 403}'}


def test_request_model_validates_messages_of_its_route(every_helper: Template) -> None:
    route_id, route = _route(every_helper, "greet")
    (name,) = route["RequestModels"].values()
    assert route["RequestModels"] == {"$default": name}
    assert route["ModelSelectionExpression"] == "\\$default"
    models = every_helper.find_resources("AWS::ApiGatewayV2::Model", {"Properties": {"Name": name}})
    ((model_id, model),) = models.items()
    assert model["Properties"]["ContentType"] == "application/json"
    assert model["Properties"]["Schema"] == {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "type": "object",
        "properties": {"action": {"type": "string"}, "name": {"type": "string"}},
        "required": ["action", "name"],
    }
    assert re.fullmatch(r"[A-Za-z0-9]+", name)
    # the route names the model: CloudFormation creates the model first
    assert model_id in every_helper.to_json()["Resources"][route_id]["DependsOn"]
    # routes without a model have no validation
    assert "RequestModels" not in _route(every_helper, "report")[1]


def test_request_models_by_selection_key_with_the_api_expression() -> None:
    stack = Stack(App(), "Models")
    fn = python_function(stack, "Fn")
    WebSocketApi(
        stack,
        "Api",
        model_selection_expression="$request.body.version",
        routes={
            "send": RouteOptions(
                handler=fn,
                request_models={
                    "v1": {"type": "object", "required": ["text"]},
                    "$default": {"type": "object", "required": ["message"]},
                },
            )
        },
    )
    template = synth(stack)
    _, route = _route(template, "send")
    assert route["ModelSelectionExpression"] == "$request.body.version"
    assert set(route["RequestModels"]) == {"v1", "$default"}
    names = set(route["RequestModels"].values())
    assert len(names) == 2
    template.resource_count_is("AWS::ApiGatewayV2::Model", 2)
    for name in names:
        template.has_resource_properties("AWS::ApiGatewayV2::Model", {"Name": name})


# --- template options ------------------------------------------------------------------------


def test_template_options_replace_and_merge_the_helpers_defaults() -> None:
    stack = Stack(App(), "Options")
    queue = sqs.Queue(stack, "Q")
    WebSocketApi(
        stack,
        "Api",
        default=SqsIntegration(
            queue,
            request_templates={
                "v1": "Action=SendMessage&MessageBody=$util.urlEncode($input.json('$.text'))",
                "$default": "Action=SendMessage&MessageBody=$util.urlEncode($input.body)",
            },
            template_selection_expression="${request.body.version}",
            passthrough_behavior=apigwv2.PassthroughBehavior.WHEN_NO_TEMPLATES,
            request_parameters={"integration.request.header.X-Trace": "context.requestId"},
            content_handling=apigwv2.ContentHandling.CONVERT_TO_TEXT,
            timeout=Duration.seconds(3),
        ),
    )
    _, integration = _integration_of(synth(stack), "$default")
    assert set(integration["RequestTemplates"]) == {"v1", "$default"}
    assert integration["TemplateSelectionExpression"] == "${request.body.version}"
    assert integration["PassthroughBehavior"] == "WHEN_NO_TEMPLATES"
    assert integration["ContentHandlingStrategy"] == "CONVERT_TO_TEXT"
    assert integration["TimeoutInMillis"] == 3000
    assert integration["RequestParameters"] == {
        "integration.request.header.Content-Type": "'application/x-www-form-urlencoded'",
        "integration.request.header.X-Trace": "context.requestId",
    }


def test_response_template_replaces_the_helpers_answer() -> None:
    stack = Stack(App(), "Answer")
    bus = events.EventBus(stack, "Bus")
    WebSocketApi(
        stack,
        "Api",
        default=RouteOptions(
            integration=EventBridgeIntegration(
                bus, source="app", response_template='{"sent": "$context.requestId"}'
            ),
            return_response=True,
        ),
    )
    template = Template.from_stack(stack)
    integration_id, _ = _integration_of(template, "$default")
    assert _integration_responses(template, integration_id)["/2\\d\\d/"]["ResponseTemplates"] == {
        "$default": '{"sent": "$context.requestId"}'
    }


# --- the seam: any aws-cdk-lib integration, shorthand forms, sharing, plain routes -------------


def test_aws_cdk_lib_integrations_are_used_as_given() -> None:
    stack = Stack(App(), "Foreign")
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"))
    WebSocketApi(
        stack,
        "Api",
        default=RouteOptions(
            integration=apigwv2_integrations.WebSocketMockIntegration(
                "Mock", request_templates={"$default": '{"statusCode": 200}'}
            ),
            return_response=True,
        ),
        routes={
            "put": apigwv2_integrations.WebSocketAwsIntegration(
                "Put",
                integration_method="POST",
                integration_uri="arn:aws:apigateway:us-east-1:dynamodb:action/PutItem",
                credentials_role=role,
            )
        },
    )
    template = Template.from_stack(stack)
    template.resource_count_is(INTEGRATION, 2)
    _, mock = _integration_of(template, "$default")
    assert mock["IntegrationType"] == "MOCK"
    assert mock["RequestTemplates"] == {"$default": '{"statusCode": 200}'}
    _, put = _integration_of(template, "put")
    assert put["IntegrationUri"] == "arn:aws:apigateway:us-east-1:dynamodb:action/PutItem"
    # nothing added to a foreign integration: no integration response, no other role
    template.resource_count_is(INTEGRATION_RESPONSE, 0)
    template.resource_count_is("AWS::IAM::Role", 2)  # the user's and the CloudWatch role
    template.resource_count_is("AWS::Lambda::Function", 0)


def test_handler_stays_the_lambda_proxy_shorthand_next_to_integrations() -> None:
    stack = Stack(App(), "Mixed")
    fn = python_function(stack, "Fn")
    api = WebSocketApi(
        stack, "Api", default=fn, routes={"ping": RouteOptions(integration=MockIntegration())}
    )
    template = Template.from_stack(stack)
    assert _integration_of(template, "$default")[1]["IntegrationType"] == "AWS_PROXY"
    assert _integration_of(template, "ping")[1]["IntegrationType"] == "MOCK"
    # the function got what route handlers get; the mock route added no function
    assert (
        "WS_API_CONNECTION_TABLE"
        in template.to_json()["Resources"][
            stack.get_logical_id(fn.node.default_child)  # type: ignore[arg-type]
        ]["Properties"]["Environment"]["Variables"]
    )
    assert set(api.routes) == {"$default", "ping"}


def test_add_route_takes_an_integration() -> None:
    stack = Stack(App(), "AddRoute")
    fn = python_function(stack, "Fn")
    api = WebSocketApi(stack, "Api", default=fn)
    api.add_route(
        "ping", RouteOptions(integration=MockIntegration({"pong": 1}), return_response=True)
    )
    template = Template.from_stack(stack)
    integration_id, integration = _integration_of(template, "ping")
    assert integration["IntegrationType"] == "MOCK"
    assert (
        _integration_responses(template, integration_id)["/2\\d\\d/"]["ResponseTemplates"][
            "$default"
        ]
        == '{"pong":1}'
    )


def test_one_helper_shared_by_two_routes_makes_one_integration_and_one_role() -> None:
    stack = Stack(App(), "Shared")
    queue = sqs.Queue(stack, "Q")
    shared = SqsIntegration(queue)
    WebSocketApi(stack, "Api", routes={"a": shared, "b": shared})
    template = Template.from_stack(stack)
    template.resource_count_is(INTEGRATION, 1)
    assert _integration_of(template, "a")[0] == _integration_of(template, "b")[0]
    roles = template.find_resources(
        "AWS::IAM::Role",
        {
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Statement": [
                        Match.object_like({"Principal": {"Service": "apigateway.amazonaws.com"}})
                    ]
                }
            }
        },
    )
    assert len(roles) == 2  # the integration's and the account CloudWatch role


def test_helpers_work_on_a_plain_aws_cdk_lib_route() -> None:
    # GIVEN a plain aws-cdk-lib WebSocketApi with a helper on a two-way route
    stack = Stack(App(), "PlainRoute")
    api = apigwv2.WebSocketApi(stack, "Api")
    api.add_route("ping", integration=MockIntegration({"pong": True}), return_response=True)
    template = Template.from_stack(stack)
    # THEN the helper made its integration responses there too
    integration_id, integration = _integration_of(template, "ping")
    assert integration["IntegrationType"] == "MOCK"
    assert set(_integration_responses(template, integration_id)) == {"/2\\d\\d/", "$default"}


def test_helper_rule_broken_on_a_plain_route_fails_the_synth() -> None:
    # GIVEN a response template on a one-way plain route (no WebSocketApi to validate it)
    app = App()
    stack = Stack(app, "PlainOneWay")
    api = apigwv2.WebSocketApi(stack, "Api")
    api.add_route("ping", integration=MockIntegration({"pong": True}))
    # THEN synthesis fails naming the helper, the prop and the rule
    with pytest.raises(Exception, match=r"MockIntegration\('MockIntegration'\).*one-way"):
        app.synth()


# --- the plain aws-cdk-lib stack of the e2e app ------------------------------------------------


def test_plain_l2_stack_uses_aws_and_mock_integrations(plain_l2: Template) -> None:
    assert _integration_of(plain_l2, "enqueue")[1]["IntegrationType"] == "AWS"
    for key in ("$connect", "$default", "ping"):
        assert _integration_of(plain_l2, key)[1]["IntegrationType"] == "MOCK"
    for key in ("$default", "ping", "enqueue"):
        integration_id, _ = _integration_of(plain_l2, key)
        assert set(_integration_responses(plain_l2, integration_id)) == {"$default"}
    plain_l2.has_resource_properties(
        "AWS::Lambda::EventSourceMapping", {"FunctionResponseTypes": ["ReportBatchItemFailures"]}
    )
