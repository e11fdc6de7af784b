"""``WebSocketApi``: a complete API Gateway WebSocket API from one construct.

Built on aws-cdk-lib's ``aws_apigatewayv2`` L2s (``WebSocketApi``, ``WebSocketRoute``,
``WebSocketStage``, ``WebSocketLambdaIntegration``, ``WebSocketLambdaAuthorizer``, ``UsagePlan``,
``ApiKey``, ``DomainName``, ``ApiMapping``); L1 escape hatches only for per-route throttling
(``RouteSettings`` of the stage).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import jsii
from aws_cdk import Annotations, CfnOutput, Names, RemovalPolicy, Token
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct, IValidation

from lambda_runtime import env

from ._nag import acknowledge
from .authorizers import (
    API_KEY_FROM_HEADER,
    AUTHORIZER_ID,
    IamAuthorizer,
    LambdaRequestAuthorizer,
    UsagePlanOptions,
    check_api_key_selection_expression,
    check_identity_sources,
    to_route_authorizer,
)
from .errors import ProblemCollector
from .grants import MANAGE_CONNECTIONS_METHODS, check_grant, grant_manage_connections
from .layer import COMPATIBLE_RUNTIMES, RuntimeLayer
from .routes import (
    CONNECT,
    DEFAULT,
    DEFAULT_ROUTE_SELECTION_EXPRESSION,
    DISCONNECT,
    RouteHandler,
    RouteOptions,
    check_route_key,
    check_route_options,
    check_route_selection_expression,
    to_route_options,
)
from .stages import (
    ACCESS_LOG_FORMAT,
    AccountCloudWatchRole,
    StageOptions,
    check_stage_options,
    throttle_route_setting,
)
from .table import ConnectionTable, ConnectionTableProps, TableSchema

__all__ = ["CustomDomainOptions", "WebSocketApi"]

#: DynamoDB actions every route handler gets on the connection table (and its group index).
TABLE_ACTIONS = (
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DeleteItem",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:UpdateItem",
)

#: Construct metadata marking a function as bound to an API / as having the layer.
_BOUND_METADATA = "cdk-ws-api:route-handler-of"
_LAYER_METADATA = "cdk-ws-api:runtime-layer"


@dataclass(frozen=True, kw_only=True)
class CustomDomainOptions:
    """A custom domain (``AWS::ApiGatewayV2::DomainName``, regional, TLS 1.2) mapped to a stage.

    The mapped stage's output URLs and the handlers' ``WS_API_MANAGEMENT_ENDPOINT``
    (``https://{domain_name}[/{mapping_key}]``) follow the domain. Point the domain's DNS at the
    ``domain_name`` attribute's ``regional_domain_name`` yourself.

    :param domain_name: e.g. ``"ws.example.com"``.
    :param certificate: an ACM certificate for ``domain_name`` in the stack's region.
    :param mapping_key: API mapping key (one path segment). Default: - none (the domain root).
    :param stage_name: the stage to map. Default: - the first stage.
    """

    domain_name: str
    certificate: acm.ICertificate
    mapping_key: str | None = None
    stage_name: str | None = None


@jsii.implements(IValidation)
class _SynthValidation:
    """Checks that can only run once every ``add_route`` call has happened."""

    def __init__(self, api: WebSocketApi) -> None:
        self._api = api

    def validate(self) -> list[str]:
        return self._api._late_problems()


class WebSocketApi(Construct):
    """An API Gateway WebSocket API with Lambda routes, stages, logs and a connection table.

    Every route handler (created by you, imported, or shared by several routes) gets, without
    user code:

    * the environment variables of ``lambda_runtime.env``: ``WS_API_CONNECTION_TABLE``,
      ``WS_API_CONNECTION_TTL_ATTRIBUTE``, ``WS_API_CONNECTION_GROUP_INDEX`` and
      ``WS_API_CONNECTION_GROUP_ATTRIBUTE`` (only with a group index) and
      ``WS_API_MANAGEMENT_ENDPOINT`` (only with a custom domain);
    * read/write on the table (and its group index);
    * ``execute-api:ManageConnections`` on
      ``arn:{partition}:execute-api:{region}:{account}:{apiId}/{stage}/{METHOD}/@connections/*``
      for every stage and POST/GET/DELETE;
    * the ``lambda_runtime`` layer (Python functions only; ``attach_runtime_layer=False`` to
      opt out).

    Environment variables and layers can only be added to ``lambda_.Function`` objects; for
    imported functions a warning is added and you must set them yourself. A function can serve
    routes of one ``WebSocketApi`` only (the variables would collide).

    cdk-nag (AwsSolutions): the construct acknowledges, with ``Validations.of(...).acknowledge``,
    the findings it causes by design: ``AwsSolutions-IAM5[Resource::...@connections/*]`` on
    every grantee of ``execute-api:ManageConnections`` (the wildcard is the connection id),
    ``AwsSolutions-APIG4`` on every route but ``$connect`` (API Gateway authorizes WebSocket
    clients on ``$connect`` only) and ``AwsSolutions-IAM4`` on the account CloudWatch role
    (``AmazonAPIGatewayPushToCloudWatchLogs``, as aws-cdk's ``RestApi``). Left to you: APIG4 on
    ``$connect`` without ``authorizer``, APIG1 with ``access_logging=False``, and findings on
    your own functions.

    :param api_name: Default: - a unique name derived from the construct path.
    :param description: Default: - none.
    :param route_selection_expression: only ``$request.body.<path>`` forms.
        Default: ``"$request.body.action"``.
    :param connect: the ``$connect`` route. Default: - no ``$connect`` route.
    :param disconnect: the ``$disconnect`` route. Default: - no ``$disconnect`` route.
    :param default: the ``$default`` route. Default: - no ``$default`` route.
    :param routes: custom routes by route key. Default: - none.
    :param authorizer: authorization of ``$connect`` (requires a ``$connect`` route).
        Default: - none (anyone can connect).
    :param api_key_selection_expression: where API keys are read
        (``"$request.header.x-api-key"`` or ``"$context.authorizer.usageIdentifierKey"``).
        Default: ``"$request.header.x-api-key"``.
    :param usage_plan: create a usage plan and an API key for every stage.
        Default: - none.
    :param stages: 1-10 stages. Default: ``[StageOptions()]`` (one stage, ``production``).
    :param access_log_retention: retention of the access log groups.
        Default: ``logs.RetentionDays.ONE_MONTH``.
    :param cloud_watch_role: create the IAM role API Gateway needs to write logs and set it as
        the account's CloudWatch role (``AWS::ApiGateway::Account``). This setting is
        account-wide (per region): it replaces any role set before, and it is retained when the
        stack is deleted. Shared by every ``WebSocketApi`` of the stack. Set ``False`` when the
        account already has one, or when the stack also has an aws-cdk ``RestApi`` with its
        own ``cloud_watch_role`` (two ``AWS::ApiGateway::Account`` would conflict).
        Default: ``True``.
    :param connection_table: props of the connection table to create. Mutually exclusive
        with ``existing_connection_table``. Default: ``ConnectionTableProps()``.
    :param existing_connection_table: use this table instead of creating one (a
        ``ConnectionTable`` or any ``dynamodb.ITable`` with partition key ``connectionId``, S).
        Default: - a new ``ConnectionTable``.
    :param existing_connection_table_schema: the attribute/index names of an existing
        ``ITable``. Default: - the ``ConnectionTable``'s own schema, or ``TableSchema()``
        (TTL ``expiresAt``, no group index).
    :param removal_policy: applied to the stateful resources created here (the table, unless
        ``connection_table.removal_policy`` is set, and the access log groups).
        Default: ``RemovalPolicy.RETAIN``.
    :param attach_runtime_layer: add the ``lambda_runtime`` layer to route and authorizer
        handlers. Default: ``True``.
    :param custom_domain: a custom domain mapped to one stage. Default: - none.
    :param outputs: create ``CfnOutput``s (per stage: ``wss://`` and ``https://`` callback
        URLs; the table name). Default: ``True``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        api_name: str | None = None,
        description: str | None = None,
        route_selection_expression: str = DEFAULT_ROUTE_SELECTION_EXPRESSION,
        connect: RouteHandler | None = None,
        disconnect: RouteHandler | None = None,
        default: RouteHandler | None = None,
        routes: Mapping[str, RouteHandler] | None = None,
        authorizer: LambdaRequestAuthorizer | IamAuthorizer | None = None,
        api_key_selection_expression: str = API_KEY_FROM_HEADER,
        usage_plan: UsagePlanOptions | None = None,
        stages: Sequence[StageOptions] | None = None,
        access_log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        cloud_watch_role: bool = True,
        connection_table: ConnectionTableProps | None = None,
        existing_connection_table: dynamodb.ITable | ConnectionTable | None = None,
        existing_connection_table_schema: TableSchema | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        attach_runtime_layer: bool = True,
        custom_domain: CustomDomainOptions | None = None,
        outputs: bool = True,
    ) -> None:
        super().__init__(scope, id)
        stage_options = list(stages) if stages is not None else [StageOptions()]
        initial_routes: list[tuple[str, str, RouteOptions]] = []
        for prop, key, given in (
            ("connect", CONNECT, connect),
            ("disconnect", DISCONNECT, disconnect),
            ("default", DEFAULT, default),
        ):
            if given is not None:
                initial_routes.append((prop, key, to_route_options(given)))
        for key, given in (routes or {}).items():
            initial_routes.append((f"routes[{key!r}]", key, to_route_options(given)))

        # --- validation: every problem of the props, reported at once ---
        problems = ProblemCollector(self.node.path)
        check_route_selection_expression(problems, route_selection_expression)
        check_api_key_selection_expression(problems, api_key_selection_expression)
        seen: set[str] = set()
        for prop, key, options in initial_routes:
            self._check_route(problems, prop, key, options, seen)
            seen.add(key)
        connect_options = next((o for _, k, o in initial_routes if k == CONNECT), None)
        if authorizer is not None and connect_options and connect_options.authorizer:
            problems.add(
                "authorizer",
                type(authorizer).__name__,
                "set the $connect authorizer once: in 'authorizer' or in the $connect "
                "RouteOptions, not both",
            )
        if isinstance(authorizer, LambdaRequestAuthorizer):
            check_identity_sources(problems, authorizer)
        check_stage_options(problems, stage_options)
        stage_names = [s.stage_name for s in stage_options]
        if existing_connection_table is not None and connection_table is not None:
            problems.add(
                "existing_connection_table",
                existing_connection_table.node.path,
                "give either existing_connection_table or connection_table (props of a new "
                "table), not both",
            )
        if existing_connection_table is None and existing_connection_table_schema is not None:
            problems.add(
                "existing_connection_table_schema",
                existing_connection_table_schema,
                "only applies with existing_connection_table",
            )
        if custom_domain is not None:
            self._check_custom_domain(problems, custom_domain, stage_names)
        problems.raise_if_any()

        self._authorizer_option = authorizer
        self._stage_options = stage_options
        self._route_options: dict[str, RouteOptions] = {}
        self._bound_handlers: set[str] = set()

        # --- the API ---
        self.api = apigwv2.WebSocketApi(
            self,
            "Api",
            api_name=api_name or Names.unique_resource_name(self, max_length=128, separator="-"),
            description=description,
            route_selection_expression=route_selection_expression,
            api_key_selection_expression=apigwv2.WebSocketApiKeySelectionExpression(
                api_key_selection_expression
            ),
        )
        """The aws-cdk-lib ``WebSocketApi`` L2 (its L1 ``CfnApi`` has id ``Resource``)."""

        # --- the connection table ---
        self.connection_table: ConnectionTable | None = None
        """The ``ConnectionTable`` created or given (``None`` for a plain existing ``ITable``)."""
        if existing_connection_table is None:
            table_props = connection_table or ConnectionTableProps()
            if table_props.removal_policy is None:
                table_props = replace(table_props, removal_policy=removal_policy)
            self.connection_table = ConnectionTable(self, "ConnectionTable", table_props)
            self.table: dynamodb.ITable = self.connection_table.table
            self.table_schema = self.connection_table.schema
        elif isinstance(existing_connection_table, ConnectionTable):
            self.connection_table = existing_connection_table
            self.table = existing_connection_table.table
            self.table_schema = existing_connection_table_schema or existing_connection_table.schema
        else:
            self.table = existing_connection_table
            self.table_schema = existing_connection_table_schema or TableSchema()

        # --- what every handler gets ---
        self.runtime_layer: lambda_.ILayerVersion | None = (
            RuntimeLayer.of(self) if attach_runtime_layer else None
        )
        """The stack's ``lambda_runtime`` layer (``None`` with ``attach_runtime_layer=False``)."""
        self._custom_domain = custom_domain
        self.management_endpoint: str | None = None
        """``https://{domain}[/{mapping_key}]`` with a custom domain, else ``None``."""
        if custom_domain is not None:
            self.management_endpoint = f"https://{custom_domain.domain_name}" + (
                f"/{custom_domain.mapping_key}" if custom_domain.mapping_key else ""
            )
        self.handler_environment: dict[str, str] = self.table_schema.environment(
            self.table.table_name
        )
        """The environment variables every route handler gets (for your own functions)."""
        if self.management_endpoint is not None:
            self.handler_environment[env.MANAGEMENT_ENDPOINT] = self.management_endpoint

        # --- account-level CloudWatch role ---
        self.cloud_watch_role: iam.IRole | None = None
        """The account's API Gateway CloudWatch role (shared per stack), or ``None``."""
        self.cloud_watch_account: apigw.CfnAccount | None = None
        if cloud_watch_role:
            account_role = AccountCloudWatchRole.of(self)
            self.cloud_watch_role = account_role.role
            self.cloud_watch_account = account_role.account

        # --- routes ---
        self.routes: dict[str, apigwv2.WebSocketRoute] = {}
        """Routes by route key (aws-cdk-lib ``WebSocketRoute``; L1 id ``Resource``)."""
        self.authorizer: apigwv2.WebSocketAuthorizer | None = None
        """The Lambda REQUEST authorizer of ``$connect`` (``None`` for IAM or no authorizer)."""
        self.stages: dict[str, apigwv2.WebSocketStage] = {}
        """Stages by name (aws-cdk-lib ``WebSocketStage``; L1 id ``Resource``)."""
        self._stage_names = stage_names
        for _prop, key, route_options in initial_routes:
            self._create_route(key, route_options)

        # --- stages ---
        self.access_log_groups: dict[str, logs.LogGroup] = {}
        """Access log group of each stage that logs, by stage name."""
        for one_stage in stage_options:
            self._create_stage(one_stage, access_log_retention, removal_policy)
        self.default_stage: apigwv2.WebSocketStage = self.stages[stage_names[0]]
        """The first stage (the one mapped to the custom domain unless told otherwise)."""
        self.node.add_validation(_SynthValidation(self))

        # --- API keys ---
        self.usage_plan: apigwv2.UsagePlan | None = None
        self.api_key: apigwv2.ApiKey | None = None
        if usage_plan is not None:
            self.usage_plan = apigwv2.UsagePlan(
                self,
                "UsagePlan",
                usage_plan_name=usage_plan.usage_plan_name,
                throttle=usage_plan.throttle,
                quota=usage_plan.quota,
                api_stages=[
                    apigwv2.UsagePlanPerApiStage(stage=stage) for stage in self.stages.values()
                ],
            )
            self.api_key = apigwv2.ApiKey(self, "ApiKey", api_key_name=usage_plan.api_key_name)
            self.usage_plan.add_api_key(self.api_key)

        # --- custom domain ---
        self.domain_name: apigwv2.DomainName | None = None
        self.api_mapping: apigwv2.ApiMapping | None = None
        self.urls: dict[str, str] = {n: s.url for n, s in self.stages.items()}
        """``wss://`` URL of each stage (following the custom domain for the mapped stage)."""
        self.callback_urls: dict[str, str] = {n: s.callback_url for n, s in self.stages.items()}
        """``https://`` ``@connections`` base URL of each stage."""
        if custom_domain is not None:
            mapped = custom_domain.stage_name or stage_names[0]
            self.domain_name = apigwv2.DomainName(
                self,
                "DomainName",
                domain_name=custom_domain.domain_name,
                certificate=custom_domain.certificate,
                endpoint_type=apigwv2.EndpointType.REGIONAL,
                security_policy=apigwv2.SecurityPolicy.TLS_1_2,
            )
            self.api_mapping = apigwv2.ApiMapping(
                self,
                "ApiMapping",
                api=self.api,
                domain_name=self.domain_name,
                stage=self.stages[mapped],
                api_mapping_key=custom_domain.mapping_key,
            )
            suffix = f"{custom_domain.domain_name}" + (
                f"/{custom_domain.mapping_key}" if custom_domain.mapping_key else ""
            )
            self.urls[mapped] = f"wss://{suffix}"
            self.callback_urls[mapped] = f"https://{suffix}"

        # --- outputs ---
        if outputs:
            for name in stage_names:
                CfnOutput(
                    self,
                    f"{name}-WebSocketUrl",
                    value=self.urls[name],
                    description=f"wss:// URL of stage {name}",
                )
                CfnOutput(
                    self,
                    f"{name}-CallbackUrl",
                    value=self.callback_urls[name],
                    description=f"https:// @connections callback URL of stage {name}",
                )
            CfnOutput(
                self,
                "ConnectionTableName",
                value=self.table.table_name,
                description="DynamoDB connection table",
            )

    # --- public API ---

    def add_route(self, route_key: str, handler: RouteHandler) -> apigwv2.WebSocketRoute:
        """Add a route after construction (same rules as the constructor's routes)."""
        options = to_route_options(handler)
        problems = ProblemCollector(self.node.path)
        self._check_route(problems, "route_key", route_key, options, set(self._route_options))
        problems.raise_if_any()
        route = self._create_route(route_key, options)
        for stage_options in self._stage_options:
            self._refresh_route_settings(stage_options)
        return route

    def grant_manage_connections(
        self,
        grantee: iam.IGrantable,
        *,
        stage: str | apigwv2.IWebSocketStage | None = None,
        methods: Sequence[str] = MANAGE_CONNECTIONS_METHODS,
    ) -> iam.Grant:
        """Grant ``execute-api:ManageConnections`` on this API's ``@connections/*``.

        For functions outside the API (e.g. a queue consumer that broadcasts).

        :param stage: a stage name or stage of this API. Default: - every stage.
        :param methods: subset of POST (send), GET (connection info), DELETE (disconnect).
            Default: ``("POST", "GET", "DELETE")``.
        """
        stage_name = stage if stage is None or isinstance(stage, str) else stage.stage_name
        problems = ProblemCollector(self.node.path)
        check_grant(problems, stage=stage_name, stage_names=self._stage_names, methods=methods)
        problems.raise_if_any()
        return grant_manage_connections(
            self,
            grantee,
            api_id=self.api.api_id,
            stages=[stage_name] if stage_name is not None else self._stage_names,
            methods=methods,
        )

    def grant_table_read_write(self, grantee: iam.IGrantable) -> iam.Grant:
        """Grant what a handler needs on the connection table (and its group index)."""
        resources = [self.table.table_arn]
        if self.table_schema.group_index_name is not None:
            resources.append(f"{self.table.table_arn}/index/{self.table_schema.group_index_name}")
        grant = iam.Grant.add_to_principal(
            grantee=grantee, actions=list(TABLE_ACTIONS), resource_arns=resources
        )
        if self.table.encryption_key is not None:
            self.table.encryption_key.grant_encrypt_decrypt(grantee)
        return grant

    # --- internals ---

    def _check_route(
        self,
        problems: ProblemCollector,
        prop: str,
        key: str,
        options: RouteOptions,
        existing: set[str],
    ) -> None:
        check_route_key(problems, prop, key)
        if key in existing:
            problems.add(prop, key, "duplicate route: each route key can be given only once")
        check_route_options(problems, prop, options)
        self._check_handler_free(problems, f"{prop}.handler", options.handler)
        if options.authorizer is not None:
            if key != CONNECT:
                problems.add(
                    f"{prop}.authorizer",
                    key,
                    "you can only set a WebSocket authorizer on the $connect route",
                )
            elif isinstance(options.authorizer, LambdaRequestAuthorizer):
                check_identity_sources(problems, options.authorizer)

    def _check_handler_free(
        self, problems: ProblemCollector, prop: str, handler: lambda_.IFunction
    ) -> None:
        for entry in handler.node.metadata:
            if entry.type == _BOUND_METADATA and entry.data != self.node.path:
                problems.add(
                    prop,
                    handler.node.path,
                    f"this function already serves routes of {entry.data}; a function can "
                    "serve one WebSocketApi (its environment variables would collide)",
                )

    @staticmethod
    def _check_custom_domain(
        problems: ProblemCollector, domain: CustomDomainOptions, stage_names: list[str]
    ) -> None:
        if domain.stage_name is not None and domain.stage_name not in stage_names:
            problems.add(
                "custom_domain.stage_name",
                domain.stage_name,
                f"must be one of the API's stages {stage_names}",
            )
        key = domain.mapping_key
        if key is not None and not Token.is_unresolved(key) and (not key or "/" in key):
            problems.add(
                "custom_domain.mapping_key", key, "a mapping key is one non-empty path segment"
            )

    def _create_route(self, key: str, options: RouteOptions) -> apigwv2.WebSocketRoute:
        self._route_options[key] = options
        authorizer_option = options.authorizer
        if key == CONNECT and authorizer_option is None:
            authorizer_option = self._authorizer_option
        route = apigwv2.WebSocketRoute(
            self.api,
            f"{key.replace('/', '%2F')}-Route",
            web_socket_api=self.api,
            route_key=key,
            integration=integrations.WebSocketLambdaIntegration(
                f"{key.replace('/', '%2F')}-Integration",
                options.handler,
                timeout=options.integration_timeout,
            ),
            authorizer=to_route_authorizer(authorizer_option),
            api_key_required=options.api_key_required or None,
            return_response=options.return_response or None,
        )
        self.routes[key] = route
        if key == CONNECT and isinstance(authorizer_option, LambdaRequestAuthorizer):
            found = self.api.node.try_find_child(AUTHORIZER_ID)
            if isinstance(found, apigwv2.WebSocketAuthorizer):
                self.authorizer = found
            self._attach_layer(authorizer_option.handler)
        if key != CONNECT:
            acknowledge(
                route,
                "AwsSolutions-APIG4",
                "API Gateway authorizes WebSocket clients on $connect only; messages on "
                "other routes arrive on an already authorized connection.",
            )
        for stage in self.stages.values():
            stage.node.add_dependency(route)
        self._bind_handler(options.handler)
        return route

    def _create_stage(
        self,
        options: StageOptions,
        retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
    ) -> None:
        name = options.stage_name
        access_log_settings: apigwv2.IAccessLogSettings | None = None
        if options.access_logging:
            log_group = logs.LogGroup(
                self, f"{name}-AccessLogs", retention=retention, removal_policy=removal_policy
            )
            self.access_log_groups[name] = log_group
            access_log_settings = _AccessLogSettings(
                apigwv2.LogGroupLogDestination(log_group),
                apigw.AccessLogFormat.custom(ACCESS_LOG_FORMAT),
            )
        stage = apigwv2.WebSocketStage(
            self,
            f"{name}-Stage",
            web_socket_api=self.api,
            stage_name=name,
            auto_deploy=True,
            throttle=options.throttle,
            detailed_metrics_enabled=options.detailed_metrics or None,
            stage_variables=dict(options.stage_variables) or None,
            description=options.description,
            access_log_settings=access_log_settings,
        )
        self.stages[name] = stage
        if options.execution_logging_level is not None:
            cfn_stage = stage.node.default_child
            assert isinstance(cfn_stage, apigwv2.CfnStage)
            cfn_stage.add_property_override(
                "DefaultRouteSettings.LoggingLevel", options.execution_logging_level
            )
        if self.cloud_watch_account is not None:
            stage.node.add_dependency(self.cloud_watch_account)
        for route in self.routes.values():
            stage.node.add_dependency(route)
        self._refresh_route_settings(options)

    def _refresh_route_settings(self, options: StageOptions) -> None:
        settings: dict[str, dict[str, float]] = {}
        for key, route_options in self._route_options.items():
            if route_options.throttle is not None:
                settings[key] = throttle_route_setting(route_options.throttle)
        for key, throttle in options.route_throttles.items():
            if key in self._route_options:
                settings[key] = throttle_route_setting(throttle)
        cfn_stage = self.stages[options.stage_name].node.default_child
        assert isinstance(cfn_stage, apigwv2.CfnStage)
        cfn_stage.route_settings = settings or None

    def _late_problems(self) -> list[str]:
        problems: list[str] = []
        if self._authorizer_option is not None and CONNECT not in self.routes:
            problems.append(
                f"authorizer={type(self._authorizer_option).__name__}: an authorizer needs a "
                "$connect route (give 'connect' or add_route('$connect', ...))"
            )
        for options in self._stage_options:
            for key in options.route_throttles:
                if key not in self.routes:
                    problems.append(
                        f"stages[{options.stage_name!r}].route_throttles[{key!r}]: no such "
                        f"route (routes: {sorted(self.routes)})"
                    )
        return problems

    def _bind_handler(self, handler: lambda_.IFunction) -> None:
        path = handler.node.path
        if path in self._bound_handlers:
            return
        problems = ProblemCollector(self.node.path)
        self._check_handler_free(problems, "handler", handler)
        problems.raise_if_any()
        handler.node.add_metadata(_BOUND_METADATA, self.node.path)
        self._bound_handlers.add(path)

        add_environment = getattr(handler, "add_environment", None)
        if callable(add_environment):
            for name, value in self.handler_environment.items():
                add_environment(name, value)
        else:
            Annotations.of(self).add_warning_v2(
                "cdk-ws-api:imported-handler",
                f"{path} is not a lambda_.Function: set its environment variables "
                f"({', '.join(self.handler_environment)}) and the runtime layer yourself",
            )
        self._attach_layer(handler)
        self.grant_table_read_write(handler)
        self.grant_manage_connections(handler)

    def _attach_layer(self, handler: lambda_.IFunction) -> None:
        if self.runtime_layer is None:
            return
        runtime = getattr(handler, "runtime", None)
        add_layers = getattr(handler, "add_layers", None)
        compatible = {r.name for r in COMPATIBLE_RUNTIMES}
        if runtime is None or not callable(add_layers) or runtime.name not in compatible:
            return
        layer_path = self.runtime_layer.node.path
        if any(e.type == _LAYER_METADATA and e.data == layer_path for e in handler.node.metadata):
            return
        handler.node.add_metadata(_LAYER_METADATA, layer_path)
        add_layers(self.runtime_layer)


@jsii.implements(apigwv2.IAccessLogSettings)
class _AccessLogSettings:
    def __init__(self, destination: apigwv2.IAccessLogDestination, fmt: apigw.AccessLogFormat):
        self._destination = destination
        self._format = fmt

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigw.AccessLogFormat:
        return self._format
