"""Bad props raise ConstructValidationError naming the prop (issue 9 item 7): wrong types,
values CloudFormation or API Gateway would refuse at deploy time, and numbers that would crash
the jsii kernel. The limits and their sources are in cdk_ws_api/limits.py."""

from __future__ import annotations

import math
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from constructs_helpers import CERTIFICATE_ARN, python_function, synth
from constructs_helpers import api_with_default as _api

from cdk_ws_api import (
    ConnectionTable,
    ConnectionTableProps,
    ConstructValidationError,
    CustomDomainOptions,
    LambdaRequestAuthorizer,
    RouteOptions,
    StageOptions,
    TableSchema,
    UsagePlanOptions,
    WebSocketApi,
)


def _problem(error: pytest.ExceptionInfo[ConstructValidationError]) -> tuple[str, str]:
    (problem,) = error.value.problems
    return problem.prop, problem.rule


# --- numbers that would kill the jsii kernel --------------------------------------------------


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("field", ["rate_limit", "burst_limit"])
def test_non_finite_throttle_is_refused_and_jsii_survives(
    stack: Stack, fn: lambda_.Function, field: str, value: float
) -> None:
    # GIVEN a stage throttle with nan/inf
    throttle = apigwv2.ThrottleSettings(**{field: value})
    with pytest.raises(ConstructValidationError) as caught:
        _api(stack, fn, stages=[StageOptions(throttle=throttle)])
    assert _problem(caught)[0] == f"stages[0].throttle.{field}"
    # THEN the jsii kernel still works in this process: a new stack synthesizes
    other = Stack(App(), "After")
    WebSocketApi(other, "Api", default=python_function(other, "Handler"))
    synth(other)


@pytest.mark.parametrize(
    ("props", "prop"),
    [
        ({"routes": {"send": "x"}}, "routes['send']"),
        (
            {
                "usage_plan": UsagePlanOptions(
                    throttle=apigwv2.ThrottleSettings(rate_limit=math.nan)
                )
            },
            "usage_plan.throttle.rate_limit",
        ),
    ],
    ids=["route-string", "usage-plan-nan"],
)
def test_other_bad_values_name_their_prop(
    stack: Stack, fn: lambda_.Function, props: dict[str, Any], prop: str
) -> None:
    with pytest.raises(ConstructValidationError) as caught:
        _api(stack, fn, **props)
    assert _problem(caught)[0] == prop


def test_route_throttle_nan(stack: Stack, fn: lambda_.Function) -> None:
    throttle = apigwv2.ThrottleSettings(rate_limit=math.nan)
    with pytest.raises(ConstructValidationError, match=r"routes\['send'\]\.throttle\.rate_limit"):
        _api(stack, fn, routes={"send": RouteOptions(handler=fn, throttle=throttle)})


def test_burst_over_the_maximum(stack: Stack, fn: lambda_.Function) -> None:
    throttle = apigwv2.ThrottleSettings(rate_limit=1, burst_limit=5001)
    with pytest.raises(ConstructValidationError) as caught:
        _api(stack, fn, stages=[StageOptions(throttle=throttle)])
    prop, rule = _problem(caught)
    assert prop == "stages[0].throttle.burst_limit" and "at most 5000" in rule
    # the maximum itself is accepted
    ok = Stack(App(), "Ok")
    WebSocketApi(
        ok,
        "Api",
        default=python_function(ok, "H"),
        stages=[StageOptions(throttle=apigwv2.ThrottleSettings(burst_limit=5000))],
    )


# --- wrong types -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("props", "prop", "rule"),
    [
        (
            {"connect": "x"},
            "connect",
            "a route is a lambda_.IFunction, a WebSocketRouteIntegration",
        ),
        ({"routes": ["fn"]}, "routes", "must be a mapping of route keys"),
        ({"routes": {"send": None}}, "routes['send']", "a route is"),
        ({"routes": {"send": "handler.py"}}, "routes['send']", "a route is"),
        ({"route_selection_expression": None}, "route_selection_expression", "must be a string"),
        ({"stages": StageOptions()}, "stages", "must be a list of StageOptions"),
        ({"stages": ["production"]}, "stages[0]", "must be a StageOptions"),
        ({"default": RouteOptions(handler="x")}, "default.handler", "lambda_.IFunction"),  # type: ignore[arg-type]
    ],
    ids=[
        "connect-str",
        "routes-list",
        "route-none",
        "route-str",
        "rse-none",
        "stages-one",
        "stages-str",
        "handler-str",
    ],
)
def test_wrong_types_name_the_prop(
    stack: Stack, fn: lambda_.Function, props: dict[str, Any], prop: str, rule: str
) -> None:
    with pytest.raises(ConstructValidationError) as caught:
        _api(stack, fn, **props)
    got_prop, got_rule = _problem(caught)
    assert got_prop == prop and rule in got_rule


def test_routes_list_of_functions(stack: Stack, fn: lambda_.Function) -> None:
    # GIVEN routes=[fn] (a list of functions, the mistake the issue saw)
    with pytest.raises(ConstructValidationError, match=r"routes=.*must be a mapping"):
        _api(stack, fn, routes=[fn])


# --- values AWS refuses ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["ab", "has space", "x" * 256, "t@ble"])
def test_table_name_outside_dynamodb_rules(stack: Stack, fn: lambda_.Function, name: str) -> None:
    with pytest.raises(ConstructValidationError) as caught:
        _api(stack, fn, connection_table=ConnectionTableProps(table_name=name))
    assert _problem(caught)[0] == "connection_table.table_name"


def test_valid_table_name(stack: Stack, fn: lambda_.Function) -> None:
    api = _api(stack, fn, connection_table=ConnectionTableProps(table_name="my.table_name-1"))
    assert api.connection_table is not None


def test_empty_ttl_attribute(stack: Stack, fn: lambda_.Function) -> None:
    # GIVEN an empty TTL attribute (no item would ever expire) / THEN refused
    with pytest.raises(ConstructValidationError) as caught:
        _api(stack, fn, connection_table=ConnectionTableProps(ttl_attribute=""))
    prop, rule = _problem(caught)
    assert prop == "connection_table.ttl_attribute" and "never expire" in rule


def test_empty_ttl_attribute_in_existing_schema(stack: Stack, fn: lambda_.Function) -> None:
    table = dynamodb.Table.from_table_name(stack, "T", "connections")
    with pytest.raises(ConstructValidationError, match=r"existing_connection_table_schema\.ttl"):
        _api(
            stack,
            fn,
            existing_connection_table=table,
            existing_connection_table_schema=TableSchema(ttl_attribute=""),
        )


def test_group_index_name_rules(stack: Stack, fn: lambda_.Function) -> None:
    with pytest.raises(ConstructValidationError, match=r"connection_table\.group_index_name="):
        _api(
            stack,
            fn,
            connection_table=ConnectionTableProps(group_index=True, group_index_name="by"),
        )


def test_existing_table_with_another_partition_key(stack: Stack, fn: lambda_.Function) -> None:
    table = dynamodb.Table(
        stack,
        "Other",
        partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
    )
    with pytest.raises(ConstructValidationError) as caught:
        _api(stack, fn, existing_connection_table=table)
    prop, rule = _problem(caught)
    assert prop == "existing_connection_table" and "'connectionId' of type S" in rule


def test_existing_table_with_a_number_connection_id(stack: Stack, fn: lambda_.Function) -> None:
    table = dynamodb.TableV2(
        stack,
        "Numbers",
        partition_key=dynamodb.Attribute(name="connectionId", type=dynamodb.AttributeType.NUMBER),
    )
    with pytest.raises(ConstructValidationError, match=r"partition key 'connectionId', type N"):
        _api(stack, fn, existing_connection_table=table)


def test_existing_tables_with_the_right_key_are_accepted(
    stack: Stack, fn: lambda_.Function
) -> None:
    good = dynamodb.Table(
        stack,
        "Good",
        partition_key=dynamodb.Attribute(name="connectionId", type=dynamodb.AttributeType.STRING),
    )
    assert _api(stack, fn, existing_connection_table=good).table is good
    other = Stack(App(), "Other")
    table = ConnectionTable(other, "Conn")
    api = WebSocketApi(
        other, "Api", default=python_function(other, "H"), existing_connection_table=table
    )
    assert api.connection_table is table


@pytest.mark.parametrize(
    ("variables", "prop"),
    [
        ({"has-dash": "x"}, "stages[0].stage_variables name"),
        ({"x" * 65: "x"}, "stages[0].stage_variables name"),
        ({"ok": "with space"}, "stages[0].stage_variables['ok']"),
        ({"ok": "x" * 513}, "stages[0].stage_variables['ok']"),
        ({"ok": ""}, "stages[0].stage_variables['ok']"),
        ({f"v{i}": "x" for i in range(101)}, "stages[0].stage_variables"),
    ],
    ids=["name-dash", "name-long", "value-space", "value-long", "value-empty", "too-many"],
)
def test_stage_variables_outside_the_documented_rules(
    stack: Stack, fn: lambda_.Function, variables: dict[str, str], prop: str
) -> None:
    with pytest.raises(ConstructValidationError) as caught:
        _api(stack, fn, stages=[StageOptions(stage_variables=variables)])
    assert _problem(caught)[0] == prop


def test_stage_variables_at_the_limits_are_accepted(stack: Stack, fn: lambda_.Function) -> None:
    variables = {"x" * 64: "A-z0.9_~:/?#&=," + "v" * 497}
    api = _api(stack, fn, stages=[StageOptions(stage_variables=variables)])
    assert api.default_stage is not None


@pytest.mark.parametrize(
    ("props", "prop"),
    [
        ({"description": "d" * 1025}, "description"),
        ({"api_name": "n" * 129}, "api_name"),
        ({"api_name": ""}, "api_name"),
        ({"stages": [StageOptions(description="d" * 1025)]}, "stages[0].description"),
    ],
    ids=["description", "api-name-long", "api-name-empty", "stage-description"],
)
def test_lengths(stack: Stack, fn: lambda_.Function, props: dict[str, Any], prop: str) -> None:
    with pytest.raises(ConstructValidationError) as caught:
        _api(stack, fn, **props)
    got, rule = _problem(caught)
    assert got == prop and "characters" in rule


def test_authorizer_name_length(stack: Stack, fn: lambda_.Function) -> None:
    authorizer = LambdaRequestAuthorizer(handler=fn, authorizer_name="a" * 129)
    with pytest.raises(ConstructValidationError) as caught:
        _api(stack, fn, connect=fn, authorizer=authorizer)
    assert _problem(caught)[0] == "authorizer.authorizer_name"


def test_limits_themselves_are_accepted(stack: Stack, fn: lambda_.Function) -> None:
    api = _api(
        stack,
        fn,
        connect=fn,
        api_name="n" * 128,
        description="d" * 1024,
        authorizer=LambdaRequestAuthorizer(handler=fn, authorizer_name="a" * 128),
    )
    assert api.authorizer is not None


def _domain(stack: Stack, **options: Any) -> CustomDomainOptions:
    certificate = acm.Certificate.from_certificate_arn(stack, "Cert", CERTIFICATE_ARN)
    options.setdefault("domain_name", "ws.example.com")
    return CustomDomainOptions(certificate=certificate, **options)


@pytest.mark.parametrize(
    "domain",
    [
        "localhost",
        "not a domain",
        "-ws.example.com",
        "ws..example.com",
        "x" * 64 + ".com",
        "https://ws.example.com",
    ],
)
def test_domain_name_that_is_not_one(stack: Stack, fn: lambda_.Function, domain: str) -> None:
    with pytest.raises(ConstructValidationError) as caught:
        _api(stack, fn, custom_domain=_domain(stack, domain_name=domain))
    assert _problem(caught)[0] == "custom_domain.domain_name"


@pytest.mark.parametrize("key", ["", "a/b", "has space", "x" * 301, "caf\u00e9"])
def test_api_mapping_key_rule(stack: Stack, fn: lambda_.Function, key: str) -> None:
    with pytest.raises(ConstructValidationError) as caught:
        _api(stack, fn, custom_domain=_domain(stack, mapping_key=key))
    assert _problem(caught)[0] == "custom_domain.mapping_key"


def test_valid_domain_and_mapping_key(stack: Stack, fn: lambda_.Function) -> None:
    api = _api(
        stack,
        fn,
        custom_domain=_domain(stack, domain_name="*.ws.example.com", mapping_key="v1$-_.+!*'()"),
    )
    assert api.api_mapping is not None


def test_api_key_required_without_usage_plan(stack: Stack, fn: lambda_.Function) -> None:
    with pytest.raises(ConstructValidationError) as caught:
        _api(stack, fn, default=RouteOptions(handler=fn, api_key_required=True))
    prop, rule = _problem(caught)
    assert prop == "default.api_key_required" and "usage_plan" in rule


def test_api_key_required_without_usage_plan_via_add_route(
    stack: Stack, fn: lambda_.Function
) -> None:
    api = _api(stack, fn)
    with pytest.raises(ConstructValidationError, match=r"route_key\.api_key_required"):
        api.add_route("send", RouteOptions(handler=fn, api_key_required=True))
