"""Integration helpers: routes served by SQS, EventBridge, Step Functions, an HTTP endpoint or
a mock, without a Lambda function in between.

Each helper is an aws-cdk-lib ``WebSocketRouteIntegration`` (give it as
``RouteOptions(integration=...)``, as a route of :class:`~cdk_ws_api.WebSocketApi`, or to a
plain ``WebSocketRoute``) and makes the wiring people get wrong:

* a least-privilege credentials role for the AWS services (one action on one resource:
  ``sqs:SendMessage`` on the queue, ``events:PutEvents`` on the bus, ``states:StartExecution``
  or ``states:StartSyncExecution`` on the state machine; plus ``kms:GenerateDataKey`` and
  ``kms:Decrypt`` on a queue's own KMS key, which SQS needs to encrypt the message);
* its request template (``$default``, selected by ``\\$default``), with the service's headers;
* on two-way routes (``return_response=True``), its integration responses: ``/2\\d\\d/``
  answers the helper's response template, any other status API Gateway's ``Internal server
  error`` frame. aws-cdk-lib makes the ``$default`` route response.

The templates put the message and its context into the service call in the same shape
everywhere: SQS gets the message as ``MessageBody`` and ``connectionId``, ``routeKey`` and
``requestId`` as message attributes; EventBridge (``Detail``) and Step Functions (``input``)
get ``{"connectionId", "routeKey", "requestId", "message"}`` where ``message`` is the client's
JSON message (so these two need JSON messages: a non-JSON frame, possible on ``$default``
only, makes the service reject the call).

Common template options (``request_templates``, ``template_selection_expression``,
``passthrough_behavior``, ``request_parameters``, ``content_handling``, ``timeout``,
``response_template``) are described on :class:`~cdk_ws_api.integrations_base.ManagedIntegration`.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aws_cdk import Aws, Token
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import IConstruct

from .errors import Problem, ProblemCollector
from .integrations_base import (
    DEFAULT_TEMPLATE_KEY,
    ManagedIntegration,
    RequestTemplateOptions,
    RouteBinding,
    TemplateOptions,
    _Config,
    json_string_template,
)

if TYPE_CHECKING:  # typing.Unpack is Python 3.11+; annotations only
    from typing_extensions import Unpack

__all__ = [
    "EventBridgeIntegration",
    "HttpIntegration",
    "MockIntegration",
    "SqsIntegration",
    "StepFunctionsIntegration",
]

#: The client's message as the content of a JSON string (EventBridge ``Detail``, Step
#: Functions ``input``). ``$util.escapeJavaScript`` also escapes ``'`` as ``\\'``, which JSON
#: does not allow: AWS's mapping-template reference turns it back with this ``replaceAll``.
_MESSAGE_AS_JSON_STRING = (
    '#set($message = $util.escapeJavaScript($input.body).replaceAll("\\\\\'","\'"))\n'
)
#: The envelope EventBridge and Step Functions receive, as the content of a JSON string.
_ENVELOPE = (
    r"{\"connectionId\":\"$context.connectionId\",\"routeKey\":\"$context.routeKey\","
    r"\"requestId\":\"$context.requestId\",\"message\":$message}"
)
_JSON_1_0 = "'application/x-amz-json-1.0'"
_JSON_1_1 = "'application/x-amz-json-1.1'"
_FORM = "'application/x-www-form-urlencoded'"
_CONTENT_TYPE = "integration.request.header.Content-Type"


def _service_uri(service: str, api: str) -> str:
    """An AWS integration URI: ``arn:{partition}:apigateway:{region}:{service}:{api}``."""
    return f"arn:{Aws.PARTITION}:apigateway:{Aws.REGION}:{service}:{api}"


def _literal_problems(problems: ProblemCollector, prop: str, value: str, max_length: int) -> None:
    """A literal copied into a JSON string of a mapping template: no VTL or JSON syntax."""
    if Token.is_unresolved(value):
        return
    if not 0 < len(value) <= max_length or re.search(r'["\\$#\x00-\x1f]', value):
        problems.add(
            prop,
            value,
            f"1-{max_length} characters without quotes, backslashes, '$', '#' or control "
            "characters (the value is copied into the request template as is)",
        )


class SqsIntegration(ManagedIntegration):
    """``SendMessage`` to an SQS queue: the message is the body, ``connectionId``, ``routeKey``
    and ``requestId`` are String message attributes (a worker answers through
    ``@connections``, e.g. with ``lambda_runtime``'s ``Connections``).

    :param queue: the queue (standard or FIFO).
    :param message_group_id: required for a FIFO queue; allowed on a standard queue too
        (fair queuing). A VTL reference evaluated per message (``"$context.connectionId"``, i.e.
        :attr:`GROUP_BY_CONNECTION`, keeps each connection's messages in order;
        ``"$input.path('$.room')"``) or a literal (``"chat"``). FIFO messages get
        ``MessageDeduplicationId=$context.requestId`` (each frame is one message).
        Default: - none.
    :param id: id of the integration construct (under the route). Default: ``"SqsIntegration"``.

    On a two-way route the answer defaults to ``{"status": "queued", "requestId": "..."}``.
    """

    #: ``message_group_id`` that keeps each connection's messages in order.
    GROUP_BY_CONNECTION = "$context.connectionId"

    def __init__(
        self,
        queue: sqs.IQueue,
        *,
        message_group_id: str | None = None,
        id: str = "SqsIntegration",
        **options: Unpack[TemplateOptions],
    ) -> None:
        super().__init__(id, **options)
        self.queue = queue
        self.message_group_id = message_group_id
        problems = self._problems()
        self._check_common(problems)
        if message_group_id is None:
            if queue.fifo and self.request_templates is None:
                problems.add(
                    "message_group_id",
                    None,
                    f"queue {queue.node.path} is a FIFO queue: SendMessage needs a message "
                    "group id (e.g. SqsIntegration.GROUP_BY_CONNECTION)",
                )
        elif not message_group_id.startswith("$") and (
            not 0 < len(message_group_id) <= 128 or re.search(r"[#\s]", message_group_id)
        ):
            problems.add(
                "message_group_id",
                message_group_id,
                "a literal group id has 1-128 characters without whitespace or '#' "
                "(start with '$' for a VTL reference such as $context.connectionId)",
            )
        problems.raise_if_any()

    def _needs_role(self) -> bool:
        return True

    def _grant(self, role: iam.Role) -> None:
        iam.Grant.add_to_principal(
            grantee=role, actions=["sqs:SendMessage"], resource_arns=[self.queue.queue_arn]
        )
        key = self.queue.encryption_master_key
        if key is not None:
            key.grant(role, "kms:GenerateDataKey", "kms:Decrypt")

    def request_template(self) -> str:
        """The ``SendMessage`` request (form-encoded Query API) this helper sends."""
        parts = ["Action=SendMessage", "MessageBody=$util.urlEncode($input.body)"]
        for n, (name, reference) in enumerate(
            (
                ("connectionId", "$context.connectionId"),
                ("routeKey", "$context.routeKey"),
                ("requestId", "$context.requestId"),
            ),
            start=1,
        ):
            parts += [
                f"MessageAttribute.{n}.Name={name}",
                f"MessageAttribute.{n}.Value.DataType=String",
                f"MessageAttribute.{n}.Value.StringValue=$util.urlEncode({reference})",
            ]
        group = self.message_group_id
        if group is not None:
            encoded = (
                f"$util.urlEncode({group})"
                if group.startswith("$")
                else urllib.parse.quote(group, safe="")
            )
            parts.append(f"MessageGroupId={encoded}")
        if self.queue.fifo:
            parts.append("MessageDeduplicationId=$util.urlEncode($context.requestId)")
        return "&".join(parts)

    def _integration_config(self, scope: IConstruct) -> _Config:
        return _Config(
            type=apigwv2.WebSocketIntegrationType.AWS,
            uri=(
                f"arn:{Aws.PARTITION}:apigateway:{self.queue.env.region}:sqs:path/"
                f"{self.queue.env.account}/{self.queue.queue_name}"
            ),
            method="POST",
            default_request_templates={DEFAULT_TEMPLATE_KEY: self.request_template()},
            default_request_parameters={_CONTENT_TYPE: _FORM},
            default_passthrough=apigwv2.PassthroughBehavior.NEVER,
        )

    def _success_template(self, binding: RouteBinding) -> str | None:
        return '{"status": "queued", "requestId": "$context.requestId"}'


class EventBridgeIntegration(ManagedIntegration):
    """``PutEvents`` of one event per message to an event bus; the detail is
    ``{"connectionId", "routeKey", "requestId", "message"}`` (``message``: the client's JSON).

    :param bus: the event bus.
    :param source: the events' ``source`` (1-256 characters, not starting with ``aws.``,
        which AWS reserves).
    :param detail_type: the events' ``detail-type``. Default: ``"WebSocket message"``.
    :param id: Default: ``"EventBridgeIntegration"``.

    On a two-way route the answer defaults to ``{"eventId": "...", "failedEntryCount": n}``.
    """

    def __init__(
        self,
        bus: events.IEventBus,
        *,
        source: str,
        detail_type: str = "WebSocket message",
        id: str = "EventBridgeIntegration",
        **options: Unpack[TemplateOptions],
    ) -> None:
        super().__init__(id, **options)
        self.bus = bus
        self.source = source
        self.detail_type = detail_type
        problems = self._problems()
        self._check_common(problems)
        _literal_problems(problems, "source", source, 256)
        _literal_problems(problems, "detail_type", detail_type, 128)
        if not Token.is_unresolved(source) and source.startswith("aws."):
            problems.add("source", source, "sources starting with 'aws.' are reserved for AWS")
        problems.raise_if_any()

    def _needs_role(self) -> bool:
        return True

    def _grant(self, role: iam.Role) -> None:
        iam.Grant.add_to_principal(
            grantee=role, actions=["events:PutEvents"], resource_arns=[self.bus.event_bus_arn]
        )

    def request_template(self) -> str:
        """The ``PutEvents`` request this helper sends."""
        return (
            _MESSAGE_AS_JSON_STRING
            + '{"Entries":[{"EventBusName":"'
            + self.bus.event_bus_arn
            + f'","Source":"{self.source}","DetailType":"{self.detail_type}",'
            + f'"Detail":"{_ENVELOPE}"}}]}}'
        )

    def _integration_config(self, scope: IConstruct) -> _Config:
        return _Config(
            type=apigwv2.WebSocketIntegrationType.AWS,
            uri=_service_uri("events", "action/PutEvents"),
            method="POST",
            default_request_templates={DEFAULT_TEMPLATE_KEY: self.request_template()},
            default_request_parameters={
                _CONTENT_TYPE: _JSON_1_1,
                "integration.request.header.X-Amz-Target": "'AWSEvents.PutEvents'",
            },
            default_passthrough=apigwv2.PassthroughBehavior.NEVER,
        )

    def _success_template(self, binding: RouteBinding) -> str | None:
        return (
            '{"eventId": "$input.path(\'$.Entries[0].EventId\')", '
            "\"failedEntryCount\": $input.path('$.FailedEntryCount')}"
        )


class StepFunctionsIntegration(ManagedIntegration):
    """Starts one execution per message; its input is
    ``{"connectionId", "routeKey", "requestId", "message"}`` (``message``: the client's JSON).

    ``StartSyncExecution`` for an Express state machine on a two-way route (the client gets
    the execution's output, or ``{"status", "error"}`` when it did not succeed), else
    ``StartExecution`` (the answer on a two-way route is ``{"executionArn": "..."}``).

    :param state_machine: the state machine.
    :param express: whether it is an Express state machine. Default: - read from a
        ``sfn.StateMachine``; ``False`` for an imported one.
    :param id: Default: ``"StepFunctionsIntegration"``.
    """

    def __init__(
        self,
        state_machine: sfn.IStateMachine,
        *,
        express: bool | None = None,
        id: str = "StepFunctionsIntegration",
        **options: Unpack[TemplateOptions],
    ) -> None:
        super().__init__(id, **options)
        self.state_machine = state_machine
        if express is None:
            express = (
                isinstance(state_machine, sfn.StateMachine)
                and state_machine.state_machine_type == sfn.StateMachineType.EXPRESS
            )
        self.express = express
        self.action: str | None = None
        """``StartExecution`` or ``StartSyncExecution``, decided when the route completes."""
        problems = self._problems()
        self._check_common(problems)
        problems.raise_if_any()

    def _needs_role(self) -> bool:
        return True

    def request_template(self) -> str:
        """The ``StartExecution``/``StartSyncExecution`` request (same body for both)."""
        return (
            _MESSAGE_AS_JSON_STRING
            + '{"stateMachineArn":"'
            + self.state_machine.state_machine_arn
            + f'","input":"{_ENVELOPE}"}}'
        )

    def _integration_config(self, scope: IConstruct) -> _Config:
        return _Config(
            type=apigwv2.WebSocketIntegrationType.AWS,
            uri=_service_uri("states", "action/StartExecution"),
            method="POST",
            default_request_templates={DEFAULT_TEMPLATE_KEY: self.request_template()},
            default_request_parameters={_CONTENT_TYPE: _JSON_1_0},
            default_passthrough=apigwv2.PassthroughBehavior.NEVER,
        )

    def _action_for(self, binding: RouteBinding) -> str:
        return "StartSyncExecution" if self.express and binding.two_way else "StartExecution"

    def _success_template(self, binding: RouteBinding) -> str | None:
        if self._action_for(binding) == "StartSyncExecution":
            return (
                "#if($input.path('$.status') == \"SUCCEEDED\")$input.path('$.output')"
                '#else{"status": "$input.path(\'$.status\')", '
                '"error": "$input.path(\'$.error\')"}#end'
            )
        return '{"executionArn": "$input.path(\'$.executionArn\')"}'

    def _complete(self, binding: RouteBinding) -> None:
        action = self._action_for(binding)
        if self.action is None:
            self.action = action
            binding.cfn_integration.integration_uri = _service_uri("states", f"action/{action}")
            assert self.role is not None
            iam.Grant.add_to_principal(
                grantee=self.role,
                actions=[f"states:{action}"],
                resource_arns=[self.state_machine.state_machine_arn],
            )
        elif action != self.action:
            self._refuse(
                binding.route,
                [
                    f"this integration already calls {self.action}; route "
                    f"{binding.route_key!r} needs {action} (share it only between routes "
                    "that are all one-way or all two-way)"
                ],
            )


_HTTP_METHODS = ("ANY", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


class HttpIntegration(ManagedIntegration):
    """Forwards each message to an HTTP endpoint.

    :param url: ``http://`` or ``https://`` URL of the endpoint.
    :param method: ``GET``, ``POST``, ``PUT``, ``PATCH``, ``DELETE``, ``HEAD``, ``OPTIONS``
        or ``ANY``. Default: ``"POST"``.
    :param proxy: ``True``: ``HTTP_PROXY``, the message is the request body and, on a two-way
        route, the endpoint's response body is the answer (no templates: API Gateway maps
        nothing). ``False``: ``HTTP``, with the template options (no template: the message
        is passed through; the endpoint's 2xx body is the answer unless ``response_template``
        says otherwise). Default: ``True``.
    :param id: Default: ``"HttpIntegration"``.
    """

    def __init__(
        self,
        url: str,
        *,
        method: str = "POST",
        proxy: bool = True,
        id: str = "HttpIntegration",
        **options: Unpack[TemplateOptions],
    ) -> None:
        super().__init__(id, **options)
        self.url = url
        self.method = method
        self.proxy = proxy
        problems = self._problems()
        self._check_common(problems)
        if not Token.is_unresolved(url):
            parsed = urllib.parse.urlsplit(url)
            if parsed.scheme not in ("http", "https") or not parsed.hostname:
                problems.add("url", url, "an http:// or https:// URL with a host")
        if method not in _HTTP_METHODS:
            problems.add("method", method, f"one of {', '.join(_HTTP_METHODS)}")
        if proxy:
            for prop in (
                "request_templates",
                "template_selection_expression",
                "passthrough_behavior",
                "response_template",
            ):
                value = options.get(prop)
                if value is not None:
                    problems.add(
                        prop,
                        value,
                        "an HTTP proxy integration maps nothing: use proxy=False for templates",
                    )
        problems.raise_if_any()

    @property
    def integration_type(self) -> str:
        return "HTTP_PROXY" if self.proxy else "HTTP"

    def _integration_config(self, scope: IConstruct) -> _Config:
        # aws-cdk-lib's WebSocketIntegrationType has no HTTP members (2.x): the type is set
        # on the L1 when the route completes (_complete).
        return _Config(type=apigwv2.WebSocketIntegrationType.AWS, uri=self.url, method=self.method)

    def _has_integration_responses(self) -> bool:
        return not self.proxy  # proxy integrations have none: the backend's body is the answer

    def _complete(self, binding: RouteBinding) -> None:
        binding.cfn_integration.integration_type = self.integration_type


class MockIntegration(ManagedIntegration):
    """A route answered by API Gateway itself, e.g. a ``$connect`` that accepts without a
    function, or a ``ping`` that answers ``pong``.

    :param response: the answer on a two-way route: a mapping template (``str``, may use
        ``$context.*`` and ``$input.*`` of the request) or a JSON value (``dict``/``list``,
        sent as JSON; being the template, its strings may hold ``$context.*`` too). A two-way
        route needs one; a one-way route refuses one. Default: - no answer.
    :param status_code: the status the mock reports (its request template is
        ``{"statusCode": N}``): 2xx answers ``response``; any other status answers API
        Gateway's ``Internal server error`` frame, and on ``$connect`` refuses the connection.
        Default: ``200``.
    :param id: Default: ``"MockIntegration"``.

    ``request_templates`` replaces the ``{"statusCode": N}`` template (it must still produce a
    ``statusCode``).
    """

    _responds_on_one_way_routes = True

    def __init__(
        self,
        response: str | Mapping[str, Any] | list[Any] | None = None,
        *,
        status_code: int = 200,
        id: str = "MockIntegration",
        **options: Unpack[RequestTemplateOptions],
    ) -> None:
        problems = ProblemCollector(f"{type(self).__name__}({id!r})")
        template: str | None = None
        if response is not None:
            try:
                template = json_string_template(response)
            except (TypeError, ValueError) as error:
                problems.add("response", response, f"not JSON-serializable: {error}")
        super().__init__(id, response_template=template, **options)
        self.status_code = status_code
        self._check_common(problems)
        if isinstance(status_code, bool) or not isinstance(status_code, int):
            problems.add("status_code", status_code, "an HTTP status code (an int, 100-599)")
        elif not 100 <= status_code <= 599:
            problems.add("status_code", status_code, "an HTTP status code (100-599)")
        problems.raise_if_any()

    def route_problems(self, route_key: str, two_way: bool) -> list[Problem]:
        problems = super().route_problems(route_key, two_way)
        if two_way and self.response_template is None:
            problems.append(
                Problem(
                    "response",
                    None,
                    f"route {route_key!r} is two-way: give the mock a response, or make the "
                    "route one-way",
                )
            )
        return problems

    def _integration_config(self, scope: IConstruct) -> _Config:
        return _Config(
            type=apigwv2.WebSocketIntegrationType.MOCK,
            uri="",
            default_request_templates={
                DEFAULT_TEMPLATE_KEY: json.dumps({"statusCode": self.status_code})
            },
        )
