"""WebSocketApi.add_publisher (issue 12 §1): a function outside the routes gets ManageConnections
on one stage, the management endpoint, the table variables and grant, and the layer; also in
another stack, without a dependency cycle."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App, Stack, Validations
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Annotations, Match, Template
from cdk_nag import AwsSolutionsChecks
from constructs_helpers import (
    CERTIFICATE_ARN,
    acknowledge_test_function,
    cfn_lint,
    nag_violations,
    python_function,
    synth,
)

from cdk_ws_api import (
    ConnectionTableProps,
    ConstructValidationError,
    CustomDomainOptions,
    StageOptions,
    WebSocketApi,
)
from cdk_ws_api.grants import TABLE_ACTIONS, TABLE_READ_ACTIONS
from lambda_runtime import env


def _api(stack: Stack, **props: Any) -> WebSocketApi:
    props.setdefault("default", python_function(stack, "Handler"))
    props.setdefault("stages", [StageOptions(), StageOptions(stage_name="dev")])
    props.setdefault("connection_table", ConnectionTableProps(group_index=True))
    return WebSocketApi(stack, "Api", **props)


def _policy_of(
    template: Template, stack: Stack, function: lambda_.Function
) -> list[dict[str, Any]]:
    role = stack.resolve(function.role.role_name)  # type: ignore[union-attr]
    (policy,) = [
        p
        for p in template.find_resources("AWS::IAM::Policy").values()
        if role in p["Properties"]["Roles"]
    ]
    return policy["Properties"]["PolicyDocument"]["Statement"]  # type: ignore[no-any-return]


def _variables(template: Template, stack: Stack, function: lambda_.Function) -> dict[str, Any]:
    logical_id = stack.get_logical_id(function.node.default_child)  # type: ignore[arg-type]
    resource = template.to_json()["Resources"][logical_id]
    return resource["Properties"]["Environment"]["Variables"]  # type: ignore[no-any-return]


def test_publisher_in_the_same_stack() -> None:
    # GIVEN a queue consumer published to the dev stage with read access to the table
    stack = Stack(App(), "Pub")
    api = _api(stack)
    consumer = python_function(stack, "Consumer")
    publisher = api.add_publisher(consumer, stage="dev", table="read")
    template = synth(stack)
    # THEN ManageConnections on dev's @connections, POST only
    statements = _policy_of(template, stack, consumer)
    (manage,) = [s for s in statements if s["Action"] == "execute-api:ManageConnections"]
    assert manage["Resource"]["Fn::Join"][1][-1] == "/dev/POST/@connections/*"
    assert stack.resolve(api.api.api_id) in manage["Resource"]["Fn::Join"][1]
    # AND read-only on the table and its group index
    (table,) = [s for s in statements if isinstance(s["Action"], list)]
    assert sorted(table["Action"]) == sorted(TABLE_READ_ACTIONS)
    assert len(table["Resource"]) == 2
    # AND the endpoint of the dev stage, the table variables with the group index
    variables = _variables(template, stack, consumer)
    assert variables[env.MANAGEMENT_ENDPOINT] == stack.resolve(api.stages["dev"].callback_url)
    assert stack.resolve(publisher.management_endpoint) == variables[env.MANAGEMENT_ENDPOINT]
    assert json.dumps(variables[env.MANAGEMENT_ENDPOINT]).count("execute-api") == 1
    assert variables[env.CONNECTION_TABLE] == stack.resolve(api.table.table_name)
    assert variables[env.CONNECTION_GROUP_INDEX] == "byGroup"
    assert variables[env.CONNECTION_GROUP_ATTRIBUTE] == "groupId"
    assert variables[env.CONNECTION_TTL_ATTRIBUTE] == "expiresAt"
    # AND the runtime layer
    logical_id = stack.get_logical_id(consumer.node.default_child)  # type: ignore[arg-type]
    assert template.to_json()["Resources"][logical_id]["Properties"]["Layers"] == [
        stack.resolve(api.runtime_layer.layer_version_arn)  # type: ignore[union-attr]
    ]
    assert publisher.stage_name == "dev" and publisher.table_grant is not None


def test_default_stage_methods_and_table() -> None:
    # GIVEN add_publisher(fn) with every default
    stack = Stack(App(), "Defaults")
    api = _api(stack)
    consumer = python_function(stack, "Consumer")
    api.add_publisher(consumer)
    template = synth(stack)
    statements = _policy_of(template, stack, consumer)
    # THEN the first stage, POST only, and read/write on the table
    (manage,) = [s for s in statements if s["Action"] == "execute-api:ManageConnections"]
    assert manage["Resource"]["Fn::Join"][1][-1] == "/production/POST/@connections/*"
    (table,) = [s for s in statements if isinstance(s["Action"], list)]
    assert sorted(table["Action"]) == sorted(TABLE_ACTIONS)


def test_table_none_gives_no_table_variables_or_grant() -> None:
    stack = Stack(App(), "NoTable")
    api = _api(stack)
    consumer = python_function(stack, "Consumer")
    publisher = api.add_publisher(consumer, table=None, methods=("POST", "DELETE"))
    template = synth(stack)
    statements = _policy_of(template, stack, consumer)
    assert [s["Action"] for s in statements] == ["execute-api:ManageConnections"]
    assert len(statements[0]["Resource"]) == 2  # POST and DELETE
    assert set(_variables(template, stack, consumer)) == {env.MANAGEMENT_ENDPOINT}
    assert publisher.table_grant is None


def test_custom_domain_endpoint_for_the_mapped_stage_only() -> None:
    # GIVEN a custom domain mapped (key "chat") to production
    stack = Stack(App(), "Domain")
    api = _api(
        stack,
        custom_domain=CustomDomainOptions(
            domain_name="ws.example.com",
            certificate=acm.Certificate.from_certificate_arn(stack, "Cert", CERTIFICATE_ARN),
            mapping_key="chat",
        ),
    )
    mapped, other = python_function(stack, "Mapped"), python_function(stack, "Other")
    api.add_publisher(mapped, stage="production")
    api.add_publisher(other, stage=api.stages["dev"])
    template = synth(stack)
    # THEN the mapped stage's publisher posts through the domain, the other through execute-api
    assert (
        _variables(template, stack, mapped)[env.MANAGEMENT_ENDPOINT]
        == "https://ws.example.com/chat"
    )
    assert _variables(template, stack, other)[env.MANAGEMENT_ENDPOINT] == stack.resolve(
        api.stages["dev"].callback_url
    )


def test_publisher_in_another_stack_has_no_dependency_cycle() -> None:
    # GIVEN the API in one stack and the consumer in another
    app = App()
    api_stack = Stack(app, "ApiStack")
    consumer_stack = Stack(app, "ConsumerStack")
    api = _api(api_stack)
    consumer = python_function(consumer_stack, "Consumer")
    api.add_publisher(consumer, stage="dev")
    # WHEN the whole app is synthesized (a cycle would fail here)
    assembly = app.synth()
    api_template = assembly.get_stack_by_name("ApiStack").template
    consumer_template = assembly.get_stack_by_name("ConsumerStack").template
    # THEN references go one way: the consumer imports from the API stack, never the reverse
    assert "Fn::ImportValue" in json.dumps(consumer_template)
    assert "Fn::ImportValue" not in json.dumps(api_template)
    assert api_stack in consumer_stack.dependencies
    assert consumer_stack not in api_stack.dependencies
    # AND the consumer got its endpoint, table variables, grants and its own stack's layer
    (function,) = [
        r for r in consumer_template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"
    ]
    variables = function["Properties"]["Environment"]["Variables"]
    assert set(variables) >= {
        env.MANAGEMENT_ENDPOINT,
        env.CONNECTION_TABLE,
        env.CONNECTION_GROUP_INDEX,
    }
    assert "Fn::ImportValue" in json.dumps(variables[env.MANAGEMENT_ENDPOINT])
    layers = [
        r
        for r in consumer_template["Resources"].values()
        if r["Type"] == "AWS::Lambda::LayerVersion"
    ]
    assert len(layers) == 1 and "Ref" in function["Properties"]["Layers"][0]
    policy_text = json.dumps(
        [r for r in consumer_template["Resources"].values() if r["Type"] == "AWS::IAM::Policy"]
    )
    assert "execute-api:ManageConnections" in policy_text and "dynamodb:PutItem" in policy_text
    # AND both templates pass cfn-lint
    assert cfn_lint(api_template) == [] and cfn_lint(consumer_template) == []


@pytest.mark.parametrize("other_stack", [False, True], ids=["same-stack", "other-stack"])
def test_publishers_pass_cdk_nag(other_stack: bool) -> None:
    # GIVEN a publisher under AwsSolutions checks, in the API's stack or in another one (where
    # the API id arrives through a cross-stack export, which cdk-nag prints by its name)
    app = App()
    Validations.of(app).add_plugins(AwsSolutionsChecks())
    stack = Stack(app, "PubNag")
    api = _api(stack)
    consumer = python_function(Stack(app, "Consumers") if other_stack else stack, "Consumer")
    api.add_publisher(consumer, stage="dev", methods=("POST", "GET"))
    for function in (consumer, stack.node.find_child("Handler")):
        acknowledge_test_function(function)  # type: ignore[arg-type]
    assert nag_violations(app) == []


# --- bad input ---------------------------------------------------------------------------------


@pytest.fixture
def api_and_consumer() -> tuple[WebSocketApi, lambda_.Function]:
    stack = Stack(App(), "PubErr")
    return _api(stack), python_function(stack, "Consumer")


@pytest.mark.parametrize(
    ("kwargs", "prop"),
    [
        ({"stage": "staging"}, "stage"),
        ({"methods": ("PUT",)}, "methods"),
        ({"methods": "POST"}, "methods"),
        ({"table": "write"}, "table"),
    ],
)
def test_bad_publisher_props(
    api_and_consumer: tuple[WebSocketApi, lambda_.Function], kwargs: dict[str, Any], prop: str
) -> None:
    api, consumer = api_and_consumer
    with pytest.raises(ConstructValidationError) as caught:
        api.add_publisher(consumer, **kwargs)
    assert [p.prop for p in caught.value.problems] == [prop]


def _imported(api: WebSocketApi, **attributes: Any) -> lambda_.IFunction:
    return lambda_.Function.from_function_attributes(
        Stack.of(api),
        "Imported",
        function_arn="arn:aws:lambda:us-east-1:123456789012:function:x",
        **attributes,
    )


def test_not_a_function(api_and_consumer: tuple[WebSocketApi, lambda_.Function]) -> None:
    api, _ = api_and_consumer
    with pytest.raises(ConstructValidationError, match=r"function='consumer'.*lambda_.IFunction"):
        api.add_publisher("consumer")  # type: ignore[arg-type]


def test_imported_without_role_is_refused_with_what_to_pass(
    api_and_consumer: tuple[WebSocketApi, lambda_.Function],
) -> None:
    api, _ = api_and_consumer
    with pytest.raises(ConstructValidationError, match=r"from_function_attributes\("):
        api.add_publisher(_imported(api))


def test_imported_with_role_gets_grants_and_a_warning(
    api_and_consumer: tuple[WebSocketApi, lambda_.Function],
) -> None:
    # GIVEN an imported function with its role (no invoke permission needed for a publisher)
    api, _ = api_and_consumer
    stack = Stack.of(api)
    api.add_publisher(
        _imported(
            api, role=iam.Role.from_role_arn(stack, "Role", "arn:aws:iam::123456789012:role/r")
        )
    )
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "Roles": ["r"],
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Action": "execute-api:ManageConnections"})]
                )
            },
        },
    )
    Annotations.from_stack(stack).has_warning(
        "/PubErr/Api",
        Match.string_like_regexp("not the environment variables .*WS_API_MANAGEMENT_ENDPOINT"),
    )


def test_one_stage_per_publisher(api_and_consumer: tuple[WebSocketApi, lambda_.Function]) -> None:
    api, consumer = api_and_consumer
    api.add_publisher(consumer, stage="production")
    with pytest.raises(
        ConstructValidationError, match=r"already publishes to PubErr/Api#production"
    ):
        api.add_publisher(consumer, stage="dev")


def test_publisher_of_one_api_cannot_serve_another(
    api_and_consumer: tuple[WebSocketApi, lambda_.Function],
) -> None:
    api, consumer = api_and_consumer
    api.add_publisher(consumer)
    with pytest.raises(ConstructValidationError, match=r"publishes to\) PubErr/Api"):
        WebSocketApi(Stack.of(api), "Other", default=consumer)
