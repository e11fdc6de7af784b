"""Bad input: one test per rule; each error names the prop, the value and the rule."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aws_cdk import App, Duration, Stack, Token
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from constructs_helpers import api_with_default as _api
from constructs_helpers import python_function

from cdk_ws_api import (
    ConnectionTableProps,
    ConstructValidationError,
    CustomDomainOptions,
    IamAuthorizer,
    LambdaRequestAuthorizer,
    RouteOptions,
    StageOptions,
    WebSocketApi,
)


@pytest.mark.parametrize("key", ["", "$custom", "has space", "x" * 129])
def test_invalid_route_key(stack: Stack, fn: lambda_.Function, key: str) -> None:
    # GIVEN a custom route key that API Gateway rejects / THEN the error names it and the rule
    with pytest.raises(ConstructValidationError, match=r"routes\[.*\]=.*a route key is \$connect"):
        _api(stack, fn, routes={key: fn})


def test_invalid_route_key_in_add_route(stack: Stack, fn: lambda_.Function) -> None:
    # GIVEN a built API / WHEN add_route with a reserved-looking key / THEN rejected
    api = _api(stack, fn)
    with pytest.raises(ConstructValidationError, match=r"route_key='\$join'"):
        api.add_route("$join", fn)


@pytest.mark.parametrize(
    "expression", ["$request.header.action", "action", "$request.body.", "${request.body.action}"]
)
def test_invalid_route_selection_expression(
    stack: Stack, fn: lambda_.Function, expression: str
) -> None:
    # GIVEN a selection expression other than $request.body.<path> / THEN rejected
    with pytest.raises(
        ConstructValidationError,
        match=r"route_selection_expression=.*accept only '\$request\.body\.<path>'",
    ):
        _api(stack, fn, route_selection_expression=expression)


@pytest.mark.parametrize(
    "source", ["route.request.body.token", "header.Auth", "route.request.querystring.", "$x"]
)
def test_invalid_identity_source(stack: Stack, fn: lambda_.Function, source: str) -> None:
    # GIVEN a Lambda authorizer reading an unsupported identity source / THEN rejected
    authorizer = LambdaRequestAuthorizer(handler=fn, identity_source=[source])
    with pytest.raises(
        ConstructValidationError,
        match=r"authorizer\.identity_source=.*'route\.request\.header\.<Name>'",
    ):
        _api(stack, fn, connect=fn, authorizer=authorizer)


def test_empty_identity_source(stack: Stack, fn: lambda_.Function) -> None:
    authorizer = LambdaRequestAuthorizer(handler=fn, identity_source=[])
    with pytest.raises(ConstructValidationError, match="at least one identity source"):
        _api(stack, fn, connect=fn, authorizer=authorizer)


@pytest.mark.parametrize("name", ["", "prod stage", "prod/1", "x" * 129, "$default"])
def test_invalid_stage_name(stack: Stack, fn: lambda_.Function, name: str) -> None:
    # GIVEN a stage name with characters API Gateway rejects / THEN rejected
    with pytest.raises(
        ConstructValidationError, match=r"stages\[0\]\.stage_name=.*letters, digits, '-' or '_'"
    ):
        _api(stack, fn, stages=[StageOptions(stage_name=name)])


def test_duplicate_stage_name(stack: Stack, fn: lambda_.Function) -> None:
    with pytest.raises(ConstructValidationError, match=r"stages\[1\]\.stage_name='a'.*unique"):
        _api(stack, fn, stages=[StageOptions(stage_name="a"), StageOptions(stage_name="a")])


def test_invalid_execution_logging_level(stack: Stack, fn: lambda_.Function) -> None:
    with pytest.raises(
        ConstructValidationError, match=r"execution_logging_level='DEBUG': must be 'ERROR'"
    ):
        _api(stack, fn, stages=[StageOptions(execution_logging_level="DEBUG")])


def test_negative_rate_limit(stack: Stack, fn: lambda_.Function) -> None:
    # GIVEN a negative stage rate limit / THEN rejected
    throttle = apigwv2.ThrottleSettings(rate_limit=-1, burst_limit=10)
    with pytest.raises(
        ConstructValidationError, match=r"stages\[0\]\.throttle\.rate_limit=-1.*>= 0"
    ):
        _api(stack, fn, stages=[StageOptions(throttle=throttle)])


@pytest.mark.parametrize("burst", [-5, 2.5])
def test_invalid_burst_limit(stack: Stack, fn: lambda_.Function, burst: float) -> None:
    # GIVEN a route throttle with a negative or fractional burst / THEN rejected
    throttle = apigwv2.ThrottleSettings(rate_limit=1, burst_limit=burst)
    with pytest.raises(
        ConstructValidationError, match=r"routes\['send'\]\.throttle\.burst_limit=.*integer >= 0"
    ):
        _api(stack, fn, routes={"send": RouteOptions(handler=fn, throttle=throttle)})


def test_invalid_per_stage_route_throttle(stack: Stack, fn: lambda_.Function) -> None:
    throttle = apigwv2.ThrottleSettings(rate_limit=-2)
    with pytest.raises(ConstructValidationError, match=r"route_throttles\['\$default'\]"):
        _api(stack, fn, stages=[StageOptions(route_throttles={"$default": throttle})])


@pytest.mark.parametrize("timeout", [Duration.millis(49), Duration.seconds(30)])
def test_integration_timeout_out_of_bounds(
    stack: Stack, fn: lambda_.Function, timeout: Duration
) -> None:
    # GIVEN an integration timeout outside 50 ms - 29 s / THEN rejected
    with pytest.raises(
        ConstructValidationError,
        match=r"default\.integration_timeout=.*between 50 milliseconds and 29 seconds",
    ):
        _api(stack, fn, default=RouteOptions(handler=fn, integration_timeout=timeout))


def test_integration_timeout_bounds_are_inclusive(stack: Stack, fn: lambda_.Function) -> None:
    api = _api(
        stack,
        fn,
        default=RouteOptions(handler=fn, integration_timeout=Duration.millis(50)),
        routes={"slow": RouteOptions(handler=fn, integration_timeout=Duration.seconds(29))},
    )
    assert set(api.routes) == {"$default", "slow"}


def test_authorizer_on_non_connect_route(stack: Stack, fn: lambda_.Function) -> None:
    # GIVEN an authorizer in the options of a custom route / THEN rejected
    with pytest.raises(
        ConstructValidationError,
        match=r"routes\['send'\]\.authorizer='send'.*only set a WebSocket authorizer on the "
        r"\$connect route",
    ):
        _api(stack, fn, routes={"send": RouteOptions(handler=fn, authorizer=IamAuthorizer())})


def test_authorizer_on_non_connect_route_via_add_route(stack: Stack, fn: lambda_.Function) -> None:
    api = _api(stack, fn)
    with pytest.raises(ConstructValidationError, match=r"\$connect route"):
        api.add_route("send", RouteOptions(handler=fn, authorizer=IamAuthorizer()))


def test_authorizer_given_twice(stack: Stack, fn: lambda_.Function) -> None:
    with pytest.raises(ConstructValidationError, match="set the \\$connect authorizer once"):
        _api(
            stack,
            fn,
            connect=RouteOptions(handler=fn, authorizer=IamAuthorizer()),
            authorizer=IamAuthorizer(),
        )


def test_authorizer_without_connect_route_fails_at_synth(
    stack: Stack, fn: lambda_.Function
) -> None:
    # GIVEN an authorizer but no $connect route / WHEN synthesized / THEN a clear error
    _api(stack, fn, authorizer=IamAuthorizer())
    with pytest.raises(RuntimeError, match=r"an authorizer needs a \$connect route"):
        App.of(stack).synth()  # type: ignore[union-attr]


def test_route_throttle_for_unknown_route_fails_at_synth(
    stack: Stack, fn: lambda_.Function
) -> None:
    throttle = apigwv2.ThrottleSettings(rate_limit=1, burst_limit=1)
    _api(stack, fn, stages=[StageOptions(route_throttles={"nope": throttle})])
    with pytest.raises(RuntimeError, match=r"route_throttles\['nope'\]: no such route"):
        App.of(stack).synth()  # type: ignore[union-attr]


def test_duplicate_route(stack: Stack, fn: lambda_.Function) -> None:
    # GIVEN $connect both as connect= and in routes / THEN rejected as a duplicate
    with pytest.raises(ConstructValidationError, match=r"routes\['\$connect'\]='\$connect': dup"):
        _api(stack, fn, connect=fn, routes={"$connect": fn})


def test_duplicate_route_via_add_route(stack: Stack, fn: lambda_.Function) -> None:
    api = _api(stack, fn, routes={"send": fn})
    with pytest.raises(ConstructValidationError, match=r"route_key='send': duplicate route"):
        api.add_route("send", fn)


def test_more_than_ten_stages(stack: Stack, fn: lambda_.Function) -> None:
    # GIVEN 11 stages / THEN rejected
    stages = [StageOptions(stage_name=f"s{i}") for i in range(11)]
    with pytest.raises(ConstructValidationError, match=r"stages=.*at most 10 stages \(11 given\)"):
        _api(stack, fn, stages=stages)


def test_no_stage(stack: Stack, fn: lambda_.Function) -> None:
    with pytest.raises(ConstructValidationError, match="at least one stage"):
        _api(stack, fn, stages=[])


def test_existing_table_and_table_props(stack: Stack, fn: lambda_.Function) -> None:
    # GIVEN both existing_connection_table and connection_table / THEN rejected
    table = dynamodb.Table.from_table_name(stack, "Existing", "connections")
    with pytest.raises(
        ConstructValidationError,
        match=r"existing_connection_table='Validation/Existing': give either",
    ):
        _api(
            stack,
            fn,
            existing_connection_table=table,
            connection_table=ConnectionTableProps(group_index=True),
        )


def test_schema_without_existing_table(stack: Stack, fn: lambda_.Function) -> None:
    from cdk_ws_api import TableSchema

    with pytest.raises(ConstructValidationError, match="only applies with existing_connection"):
        _api(stack, fn, existing_connection_table_schema=TableSchema())


def test_invalid_api_key_selection_expression(stack: Stack, fn: lambda_.Function) -> None:
    with pytest.raises(ConstructValidationError, match=r"api_key_selection_expression="):
        _api(stack, fn, api_key_selection_expression="$request.querystring.key")


@pytest.mark.parametrize("methods", [("PUT",), (), "POST"])
def test_grant_with_bad_methods(stack: Stack, fn: lambda_.Function, methods: Any) -> None:
    # GIVEN a grant for methods outside POST/GET/DELETE / THEN rejected
    api = _api(stack, fn)
    other = python_function(stack, "Other")
    with pytest.raises(ConstructValidationError, match=r"methods="):
        api.grant_manage_connections(other, methods=methods)


def test_grant_with_unknown_stage(stack: Stack, fn: lambda_.Function) -> None:
    # GIVEN a grant for a stage the API does not have / THEN rejected naming the stages
    api = _api(stack, fn)
    other = python_function(stack, "Other")
    with pytest.raises(
        ConstructValidationError, match=re.escape("stage='dev': must be one of the API's stages")
    ):
        api.grant_manage_connections(other, stage="dev")


def test_custom_domain_stage_must_exist(stack: Stack, fn: lambda_.Function) -> None:
    from aws_cdk import aws_certificatemanager as acm

    certificate = acm.Certificate.from_certificate_arn(stack, "Cert", "arn:aws:acm:::certificate/x")
    domain = CustomDomainOptions(
        domain_name="ws.example.com", certificate=certificate, stage_name="x"
    )
    with pytest.raises(ConstructValidationError, match=r"custom_domain\.stage_name='x'"):
        _api(stack, fn, custom_domain=domain)


def test_function_serving_two_apis(stack: Stack, fn: lambda_.Function) -> None:
    # GIVEN a function already serving one API / WHEN used by a second / THEN rejected
    _api(stack, fn)
    with pytest.raises(
        ConstructValidationError,
        match=r"default\.handler=.Validation/Handler.: this function already serves routes "
        r"of \(or publishes to\) Validation/Api",
    ):
        WebSocketApi(stack, "Other", default=fn)


def test_several_problems_reported_together(stack: Stack, fn: lambda_.Function) -> None:
    # GIVEN three bad props / THEN one error lists all three
    with pytest.raises(ConstructValidationError) as caught:
        _api(
            stack,
            fn,
            route_selection_expression="$request.header.x",
            routes={"$bad": fn},
            stages=[StageOptions(stage_name="bad name")],
        )
    error = caught.value
    assert [p.prop for p in error.problems] == [
        "route_selection_expression",
        "routes['$bad']",
        "stages[0].stage_name",
    ]
    assert str(error).startswith("Validation/Api: 3 invalid prop problems:")
    assert isinstance(error, ValueError)


def test_unresolved_tokens_are_not_validated(stack: Stack, fn: lambda_.Function) -> None:
    # GIVEN tokens for the selection expression, a route key and a stage name
    # THEN no error: CloudFormation validates them at deploy time
    api = _api(
        stack,
        fn,
        route_selection_expression=Token.as_string({"Ref": "Expression"}),
        routes={Token.as_string({"Ref": "Key"}): fn},
        stages=[StageOptions(stage_name=Token.as_string({"Ref": "Stage"}))],
    )
    assert len(api.routes) == 2
