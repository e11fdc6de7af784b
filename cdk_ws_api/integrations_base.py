"""What every integration helper of :mod:`cdk_ws_api.integrations` shares: the template
options, the timeout rule, the credentials role and the integration responses of two-way routes.

A helper is an aws-cdk-lib ``WebSocketRouteIntegration``: a route binds it, and aws-cdk-lib
creates the ``WebSocketIntegration`` (``AWS::ApiGatewayV2::Integration``) from the config that
:meth:`ManagedIntegration.bind` returns. What depends on the route being two-way (its
integration responses, Step Functions' sync or async start) is only known once the route
exists, after ``bind`` returned: ``bind`` therefore adds a one-shot aspect to the route that
completes the binding at synthesis (:class:`_CompleteBinding`). So the helpers work the same on
a :class:`~cdk_ws_api.WebSocketApi` route and on a plain aws-cdk-lib ``WebSocketRoute``.

Two-way is read from the route itself: aws-cdk-lib's ``WebSocketRoute(return_response=True)``
sets ``RouteResponseSelectionExpression`` on its ``CfnRoute`` and creates the ``$default``
route response.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypedDict

import jsii
from aws_cdk import Aspects, Duration, IAspect, Token
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_iam as iam
from constructs import IConstruct, IValidation

from .errors import Problem, ProblemCollector

__all__ = [
    "DEFAULT_TEMPLATE_KEY",
    "ERROR_FRAME_TEMPLATE",
    "MAX_INTEGRATION_TIMEOUT",
    "MIN_INTEGRATION_TIMEOUT",
    "SELECT_DEFAULT_TEMPLATE",
    "SUCCESS_RESPONSE_KEY",
    "ManagedIntegration",
    "RequestTemplateOptions",
    "RouteBinding",
    "TemplateOptions",
    "check_integration_timeout",
    "json_string_template",
]

#: API Gateway's integration timeout bounds for WebSocket APIs.
MIN_INTEGRATION_TIMEOUT = Duration.millis(50)
MAX_INTEGRATION_TIMEOUT = Duration.seconds(29)

#: The reserved catch-all key of request/response templates and integration responses.
DEFAULT_TEMPLATE_KEY = "$default"
#: A static selection expression that always selects the ``$default`` template (``$`` escaped,
#: as API Gateway's selection-expression rules require for a literal ``$default``).
SELECT_DEFAULT_TEMPLATE = "\\$default"
#: Integration response key of the 2xx answers of AWS, HTTP and MOCK integrations (their
#: integration response is selected by the backend's status code).
SUCCESS_RESPONSE_KEY = "/2\\d\\d/"
#: What API Gateway itself sends when an integration fails; the helpers' ``$default``
#: integration response answers the same frame for any non-2xx backend status.
ERROR_FRAME_TEMPLATE = (
    '{"message": "Internal server error", "connectionId": "$context.connectionId", '
    '"requestId": "$context.requestId"}'
)

_APIGATEWAY = iam.ServicePrincipal("apigateway.amazonaws.com")


def check_integration_timeout(
    problems: ProblemCollector, prop: str, timeout: Duration | None
) -> None:
    """``timeout`` is between 50 ms and 29 s (API Gateway's bounds for WebSocket APIs)."""
    if timeout is None or Token.is_unresolved(timeout.to_string()):
        return
    millis = timeout.to_milliseconds()
    low, high = MIN_INTEGRATION_TIMEOUT.to_milliseconds(), MAX_INTEGRATION_TIMEOUT.to_milliseconds()
    if not low <= millis <= high:
        problems.add(
            prop,
            f"{millis} ms",
            "the integration timeout must be between 50 milliseconds and 29 seconds",
        )


def json_string_template(value: Any) -> str:
    """``value`` as JSON text usable inside a mapping template (tokens left as they are)."""
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


class RequestTemplateOptions(TypedDict, total=False):
    """The request-side template options (what a mock takes too)."""

    request_templates: Mapping[str, str] | None
    template_selection_expression: str | None
    passthrough_behavior: apigwv2.PassthroughBehavior | None


class TemplateOptions(RequestTemplateOptions, total=False):
    """Every helper's template options (described on :class:`ManagedIntegration`)."""

    request_parameters: Mapping[str, str] | None
    content_handling: apigwv2.ContentHandling | None
    timeout: Duration | None
    response_template: str | None


@dataclass(frozen=True)
class RouteBinding:
    """One route a helper is bound to, once the route exists (given to ``_complete``)."""

    route: apigwv2.WebSocketRoute
    route_key: str
    two_way: bool
    integration: apigwv2.WebSocketIntegration
    cfn_integration: apigwv2.CfnIntegration


@dataclass(frozen=True)
class _Config:
    """What a helper gives aws-cdk-lib's ``WebSocketIntegration`` (see ``_integration_config``)."""

    type: apigwv2.WebSocketIntegrationType
    uri: str
    method: str | None = None
    default_request_templates: Mapping[str, str] | None = None
    default_request_parameters: Mapping[str, str] | None = None
    default_passthrough: apigwv2.PassthroughBehavior | None = None


class ManagedIntegration(apigwv2.WebSocketRouteIntegration):
    """Base of the integration helpers: a non-Lambda integration whose wiring is made for you.

    Template options, common to every helper (each helper documents its own defaults):

    :param request_templates: mapping templates by template key, replacing the helper's own
        request template. Default: - the helper's template under ``$default``.
    :param template_selection_expression: selects the request template, e.g.
        ``"${request.body.version}"``. Default: ``"\\$default"`` (always the ``$default`` one).
    :param passthrough_behavior: what API Gateway does with a message no template matches.
        Default: - the helper's (``NEVER`` for AWS services: nothing unmapped reaches them).
    :param request_parameters: integration request parameters, e.g.
        ``{"integration.request.header.X-Room": "route.request.body.room"}`` (merged over the
        helper's own, such as the ``Content-Type`` an AWS service needs). Default: - the
        helper's.
    :param content_handling: ``CONVERT_TO_TEXT`` / ``CONVERT_TO_BINARY``.
        Default: - passed through unchanged.
    :param timeout: 50 ms to 29 s. Default: - API Gateway's default, 29 seconds.
    :param response_template: the answer sent on a two-way route (``return_response=True``),
        from the backend's 2xx response (``$input.path(...)``, ``$context.*``). A non-2xx
        backend status answers API Gateway's ``Internal server error`` frame. Setting it on a
        one-way route is an error. Default: - the helper's.
    """

    #: Whether the helper creates its integration responses on one-way routes too (MOCK: the
    #: answer *is* its integration response, and ``$connect`` accepts through it).
    _responds_on_one_way_routes = False

    def __init__(
        self,
        id: str,
        *,
        request_templates: Mapping[str, str] | None = None,
        template_selection_expression: str | None = None,
        passthrough_behavior: apigwv2.PassthroughBehavior | None = None,
        request_parameters: Mapping[str, str] | None = None,
        content_handling: apigwv2.ContentHandling | None = None,
        timeout: Duration | None = None,
        response_template: str | None = None,
    ) -> None:
        super().__init__(id)
        self.construct_id = id
        self.request_templates = dict(request_templates) if request_templates is not None else None
        self.template_selection_expression = template_selection_expression
        self.passthrough_behavior = passthrough_behavior
        self.request_parameters = dict(request_parameters) if request_parameters else None
        self.content_handling = content_handling
        self.timeout = timeout
        self.response_template = response_template
        self.role: iam.Role | None = None
        """The credentials role API Gateway assumes to call the service (``None`` for HTTP
        and MOCK), created when the helper is first bound."""
        self.integration: apigwv2.WebSocketIntegration | None = None
        """aws-cdk-lib's integration construct, known once the first route completed."""
        self.integration_responses: list[apigwv2.CfnIntegrationResponse] = []
        self._completed: set[str] = set()

    # --- validation ---

    def _problems(self) -> ProblemCollector:
        return ProblemCollector(f"{type(self).__name__}({self.construct_id!r})")

    def _check_common(self, problems: ProblemCollector) -> None:
        check_integration_timeout(problems, "timeout", self.timeout)
        if self.request_templates is not None and not self.request_templates:
            problems.add("request_templates", {}, "give at least one template, or leave it out")

    def route_problems(self, route_key: str, two_way: bool) -> list[Problem]:
        """What is impossible with this helper on the route ``route_key`` (one- or two-way)."""
        problems: list[Problem] = []
        if self.response_template is not None and not two_way:
            problems.append(
                Problem(
                    "response_template",
                    self.response_template,
                    f"route {route_key!r} is one-way: API Gateway sends no response on it; "
                    "set return_response=True on the route or drop the response template",
                )
            )
        return problems

    # --- what the subclasses provide ---

    def _integration_config(self, scope: IConstruct) -> _Config:
        raise NotImplementedError

    def _grant(self, role: iam.Role) -> None:
        """Add the one statement the credentials role needs (helpers calling AWS services)."""

    def _needs_role(self) -> bool:
        return False

    def _complete(self, binding: RouteBinding) -> None:
        """Per-route completion once the route exists (after the responses are made)."""

    def _has_integration_responses(self) -> bool:
        """Proxy integrations have none (the backend's answer is sent as it is)."""
        return True

    def _success_template(self, binding: RouteBinding) -> str | None:
        """The helper's answer when ``response_template`` is not given."""
        return None

    # --- binding ---

    @jsii.member(jsii_name="bind")
    def bind(
        self, options: apigwv2.WebSocketRouteIntegrationBindOptions
    ) -> apigwv2.WebSocketRouteIntegrationConfig:
        if self.role is None and self._needs_role():
            self.role = iam.Role(
                options.scope,
                f"{self.construct_id}-Role",
                assumed_by=_APIGATEWAY,  # type: ignore[arg-type]
                description=f"Credentials of the {type(self).__name__} {self.construct_id!r} "
                "(API Gateway calls the service with it)",
            )
            self._grant(self.role)
        config = self._integration_config(options.scope)
        Aspects.of(options.route).add(_CompleteBinding(self, options.route))
        parameters = {
            **(config.default_request_parameters or {}),
            **(self.request_parameters or {}),
        }
        templates = self.request_templates or config.default_request_templates
        return apigwv2.WebSocketRouteIntegrationConfig(
            type=config.type,
            uri=config.uri,
            method=config.method,
            credentials_role=self.role,
            request_templates=templates,
            template_selection_expression=(
                self.template_selection_expression
                or (SELECT_DEFAULT_TEMPLATE if templates else None)
            ),
            passthrough_behavior=self.passthrough_behavior or config.default_passthrough,
            request_parameters=parameters or None,
            content_handling=self.content_handling,
            timeout=self.timeout,
        )

    def _complete_route(self, route: apigwv2.WebSocketRoute) -> None:
        path = route.node.path
        if path in self._completed:
            return
        self._completed.add(path)
        if self.integration is None:
            found = route.node.try_find_child(self.construct_id)
            if not isinstance(found, apigwv2.WebSocketIntegration):
                return  # not ours: the route was given another integration object
            self.integration = found
        cfn_route = route.node.default_child
        assert isinstance(cfn_route, apigwv2.CfnRoute)
        cfn_integration = self.integration.node.default_child
        assert isinstance(cfn_integration, apigwv2.CfnIntegration)
        binding = RouteBinding(
            route=route,
            route_key=route.route_key,
            two_way=cfn_route.route_response_selection_expression is not None,
            integration=self.integration,
            cfn_integration=cfn_integration,
        )
        self._refuse(route, [str(p) for p in self.route_problems(route.route_key, binding.two_way)])
        if (
            not self.integration_responses
            and self._has_integration_responses()
            and (binding.two_way or self._responds_on_one_way_routes)
        ):
            self._create_integration_responses(binding)
        self._complete(binding)

    def _refuse(self, route: apigwv2.WebSocketRoute, problems: list[str]) -> None:
        """Fail the synthesis with ``problems`` (rules only checkable once the route exists;
        a :class:`~cdk_ws_api.WebSocketApi` route was already checked at construction)."""
        if problems:
            owner = f"{type(self).__name__}({self.construct_id!r})"
            route.node.add_validation(_Refusal([f"{owner}: {p}" for p in problems]))

    def _create_integration_responses(self, binding: RouteBinding) -> None:
        success = self.response_template or self._success_template(binding)
        for construct_id, key, template in (
            ("Success", SUCCESS_RESPONSE_KEY, success),
            ("Error", DEFAULT_TEMPLATE_KEY, ERROR_FRAME_TEMPLATE),
        ):
            templated = template is not None
            self.integration_responses.append(
                apigwv2.CfnIntegrationResponse(
                    binding.integration,
                    f"{construct_id}Response",
                    api_id=binding.route.web_socket_api.api_id,
                    integration_id=binding.integration.integration_id,
                    integration_response_key=key,
                    response_templates={DEFAULT_TEMPLATE_KEY: template} if templated else None,
                    template_selection_expression=SELECT_DEFAULT_TEMPLATE if templated else None,
                )
            )


@jsii.implements(IAspect)
class _CompleteBinding:
    """Completes one helper's binding to one route at synthesis (once the route exists)."""

    def __init__(self, integration: ManagedIntegration, route: apigwv2.WebSocketRoute) -> None:
        self._integration = integration
        self._route = route
        self._path = route.node.path

    def visit(self, node: IConstruct) -> None:
        if node.node.path == self._path:
            self._integration._complete_route(self._route)


@jsii.implements(IValidation)
class _Refusal:
    def __init__(self, problems: list[str]) -> None:
        self._problems = problems

    def validate(self) -> list[str]:
        return list(self._problems)
