"""``WebSocketApi``: a complete API Gateway WebSocket API from one construct.

Built on aws-cdk-lib's ``aws_apigatewayv2`` L2s (``WebSocketApi``, ``WebSocketRoute``,
``WebSocketStage``, ``WebSocketLambdaIntegration``, ``WebSocketLambdaAuthorizer``, ``UsagePlan``,
``ApiKey``, ``DomainName``, ``ApiMapping``); L1 escape hatches only for per-route throttling
and the execution logging level (``RouteSettings``, ``DefaultRouteSettings`` of the stage).

This module validates the props and wires the parts, each made in its own module: routes
(``routes.py``), the ``$connect`` authorizer (``authorizers.py``), stages and their logs
(``stages.py``), the account CloudWatch role (``account.py``), the connection table
(``table.py``), what handlers get (``handlers.py``, ``grants.py``) and the custom domain
(``domain.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import jsii
from aws_cdk import CfnOutput, Names, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct, IConstruct, IValidation

from .account import AccountCloudWatchRole, warn_without_cloud_watch_role
from .authorizers import (
    API_KEY_FROM_HEADER,
    AUTHORIZER_ID,
    IamAuthorizer,
    LambdaRequestAuthorizer,
    UsagePlanOptions,
    authorizer_permission,
    check_api_key_selection_expression,
    check_lambda_authorizer,
)
from .domain import (
    CustomDomainOptions,
    check_custom_domain,
    custom_domain_url,
    map_custom_domain,
)
from .errors import ProblemCollector
from .grants import (
    MANAGE_CONNECTIONS_METHODS,
    check_grant,
    grant_manage_connections,
    grant_table_read_write,
)
from .handlers import (
    add_runtime_layer,
    check_handler_free,
    check_imported_function,
    claim_handler,
    handler_environment,
    set_handler_environment,
)
from .layer import RuntimeLayer
from .limits import MAX_API_NAME_LENGTH, MAX_DESCRIPTION_LENGTH, check_length, check_throttle
from .prop_types import check_prop_types
from .publishers import PUBLISHER_METHODS, Publisher, TableAccess, add_publisher
from .routes import (
    CONNECT,
    DEFAULT,
    DEFAULT_MODEL_SELECTION_EXPRESSION,
    DEFAULT_ROUTE_SELECTION_EXPRESSION,
    DISCONNECT,
    RouteHandler,
    RouteOptions,
    check_model_selection_expression,
    check_route_key,
    check_route_options,
    check_route_selection_expression,
    create_route,
    to_route_options,
)
from .stages import (
    StageOptions,
    apply_route_settings,
    check_stage_options,
    create_stage,
)
from .table import (
    ConnectionTable,
    ConnectionTableProps,
    TableSchema,
    check_connection_table_props,
    connection_table_of_api,
)

# CustomDomainOptions lives in domain.py; still exported here, where it was first defined.
__all__ = ["CustomDomainOptions", "WebSocketApi"]

#: A route as given to the constructor: the prop that gave it, its key and its options.
_InitialRoute = tuple[str, str, RouteOptions]


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
    imported functions a warning is added and you must set them yourself. An imported route
    handler must come with its role and the right to add its invoke permission
    (``from_function_attributes(function_arn=..., role=..., same_environment=True)``);
    ``from_function_arn`` raises ``ConstructValidationError`` (no grant would be real). A
    function can serve routes of one ``WebSocketApi`` only (the variables would collide).

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
    :param model_selection_expression: the model selection expression of every route with a
        request model (``RouteOptions.request_model(s)``): what it evaluates to picks the
        model by key, ``$default`` being the fallback (e.g. ``"$request.body.version"``).
        Default: ``"\\$default"`` (always the ``$default`` model).
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
        model_selection_expression: str = DEFAULT_MODEL_SELECTION_EXPRESSION,
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
        # Wrong types first (they would fail inside jsii or typeguard with no prop named), then
        # every other problem of the props at once, before anything is created.
        problems = ProblemCollector(self.node.path)
        check_prop_types(
            problems,
            route_selection_expression=route_selection_expression,
            connect=connect,
            disconnect=disconnect,
            default=default,
            routes=routes,
            stages=stages,
        )
        problems.raise_if_any()
        stage_options = list(stages) if stages is not None else [StageOptions()]
        initial_routes = _initial_routes(connect, disconnect, default, routes)
        self._usage_plan_option = usage_plan

        check_length(problems, "api_name", api_name, minimum=1, maximum=MAX_API_NAME_LENGTH)
        check_length(
            problems, "description", description, minimum=0, maximum=MAX_DESCRIPTION_LENGTH
        )
        check_route_selection_expression(problems, route_selection_expression)
        check_model_selection_expression(problems, model_selection_expression)
        check_api_key_selection_expression(problems, api_key_selection_expression)
        self._check_initial_routes(problems, initial_routes, authorizer)
        check_stage_options(problems, stage_options)
        check_connection_table_props(
            problems,
            props=connection_table,
            existing=existing_connection_table,
            existing_schema=existing_connection_table_schema,
        )
        if custom_domain is not None:
            check_custom_domain(problems, custom_domain, [s.stage_name for s in stage_options])
        if usage_plan is not None:
            check_throttle(problems, "usage_plan.throttle", usage_plan.throttle)
        problems.raise_if_any()
        if not cloud_watch_role:
            warn_without_cloud_watch_role(self, stage_options)

        self._authorizer_option = authorizer
        self._model_selection_expression = model_selection_expression
        self._stage_options = stage_options
        self._stage_names = [s.stage_name for s in stage_options]
        self._route_options: dict[str, RouteOptions] = {}
        self._bound_handlers: set[str] = set()
        self._stage_dependencies: list[IConstruct] = []

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

        self.connection_table: ConnectionTable | None
        """The ``ConnectionTable`` created or given (``None`` for a plain existing ``ITable``)."""
        self.table: dynamodb.ITable
        self.table_schema: TableSchema
        self.connection_table, self.table, self.table_schema = connection_table_of_api(
            self,
            props=connection_table,
            existing=existing_connection_table,
            existing_schema=existing_connection_table_schema,
            removal_policy=removal_policy,
        )

        self.runtime_layer: lambda_.ILayerVersion | None = (
            RuntimeLayer.of(self) if attach_runtime_layer else None
        )
        """The stack's ``lambda_runtime`` layer (``None`` with ``attach_runtime_layer=False``)."""
        self.management_endpoint: str | None = (
            custom_domain_url(custom_domain, "https") if custom_domain is not None else None
        )
        """``https://{domain}[/{mapping_key}]`` with a custom domain, else ``None``."""
        self.handler_environment: dict[str, str] = handler_environment(
            self.table_schema, self.table.table_name, self.management_endpoint
        )
        """The environment variables every route handler gets (for your own functions)."""

        self.cloud_watch_role: iam.IRole | None = None
        """The account's API Gateway CloudWatch role (shared per stack), or ``None``."""
        self.cloud_watch_account: apigw.CfnAccount | None = None
        if cloud_watch_role:
            account_role = AccountCloudWatchRole.of(self)
            cfn_api = self.api.node.default_child  # the CfnApi alone, not its routes
            assert cfn_api is not None
            account_role.depend_on_first_api(cfn_api)
            self.cloud_watch_role = account_role.role
            self.cloud_watch_account = account_role.account

        self.routes: dict[str, apigwv2.WebSocketRoute] = {}
        """Routes by route key (aws-cdk-lib ``WebSocketRoute``; L1 id ``Resource``)."""
        self.authorizer: apigwv2.WebSocketAuthorizer | None = None
        """The Lambda REQUEST authorizer of ``$connect`` (``None`` for IAM or no authorizer)."""
        self.stages: dict[str, apigwv2.WebSocketStage] = {}
        """Stages by name (aws-cdk-lib ``WebSocketStage``; L1 id ``Resource``)."""
        for _prop, key, route_options in initial_routes:
            self._create_route(key, route_options)

        self.access_log_groups: dict[str, logs.LogGroup] = {}
        """Access log group of each stage that logs, by stage name."""
        for one_stage in stage_options:
            self._create_stage(one_stage, access_log_retention, removal_policy)
        self.default_stage: apigwv2.WebSocketStage = self.stages[self._stage_names[0]]
        """The first stage (the one mapped to the custom domain unless told otherwise)."""
        self.node.add_validation(_SynthValidation(self))

        self.usage_plan: apigwv2.UsagePlan | None = None
        self.api_key: apigwv2.ApiKey | None = None
        if usage_plan is not None:
            self._create_usage_plan(usage_plan)

        self.domain_name: apigwv2.DomainName | None = None
        """The custom domain (``None`` without ``custom_domain``)."""
        self.api_mapping: apigwv2.ApiMapping | None = None
        self.urls: dict[str, str] = {n: s.url for n, s in self.stages.items()}
        """``wss://`` URL of each stage (following the custom domain for the mapped stage)."""
        self.callback_urls: dict[str, str] = {n: s.callback_url for n, s in self.stages.items()}
        """``https://`` ``@connections`` base URL of each stage."""
        if custom_domain is not None:
            self._map_custom_domain(custom_domain)

        if outputs:
            self._create_outputs()

    # --- public API ---

    def add_route(self, route_key: str, handler: RouteHandler) -> apigwv2.WebSocketRoute:
        """Add a route after construction (same rules as the constructor's routes)."""
        options = to_route_options(handler)
        problems = ProblemCollector(self.node.path)
        self._check_route(problems, "route_key", route_key, options, set(self._route_options))
        problems.raise_if_any()
        route = self._create_route(route_key, options)
        for stage_options in self._stage_options:
            self._apply_route_settings(stage_options)
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

    def add_publisher(
        self,
        function: lambda_.IFunction,
        *,
        stage: str | apigwv2.IWebSocketStage | None = None,
        methods: Sequence[str] = PUBLISHER_METHODS,
        table: TableAccess | None = "read_write",
    ) -> Publisher:
        """Wire a function outside the routes that pushes to this API's clients (a queue
        consumer, a schedule, a function of another stack), so that ``Connections()`` and
        ``ConnectionStore()`` need no argument in it.

        It gets ``execute-api:ManageConnections`` on ``stage``'s ``@connections/*`` for
        ``methods`` only; ``WS_API_MANAGEMENT_ENDPOINT`` (always:
        ``https://{apiId}.execute-api.{region}.{urlSuffix}/{stage}``, or
        ``https://{domain}[/{mapping_key}]`` when ``stage`` is the custom domain's); with
        ``table``, the table variables (with the group index ones when the table has one) and
        the grant; and the ``lambda_runtime`` layer of its own stack (Python >= 3.10 functions,
        unless ``attach_runtime_layer=False``). The function may live in another stack: every
        reference goes from its stack to this one (no dependency cycle). An imported function
        needs its role (see ``IMPORT_HINT``) and gets a warning for the variables and layer.

        :param stage: a stage name or stage of this API. Default: - the first stage.
        :param methods: subset of POST (send), GET (connection info), DELETE (disconnect).
            Default: ``("POST",)``.
        :param table: ``"read"`` (GetItem, Query, Scan: ``ids``, ``get``), ``"read_write"``
            (everything ``ConnectionStore`` calls, as route handlers: ``broadcast(...,
            store=store)`` deletes gone ids) or ``None`` (no table variables or grant).
            Default: ``"read_write"``.
        """
        return add_publisher(self, function, stage=stage, methods=methods, table=table)

    def grant_table_read_write(self, grantee: iam.IGrantable) -> iam.Grant:
        """Grant what a handler needs on the connection table (and its group index)."""
        return grant_table_read_write(grantee, self.table, self.table_schema)

    # --- validation ---

    def _check_initial_routes(
        self,
        problems: ProblemCollector,
        initial_routes: list[_InitialRoute],
        authorizer: LambdaRequestAuthorizer | IamAuthorizer | None,
    ) -> None:
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
            check_lambda_authorizer(problems, "authorizer", authorizer)

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
        check_route_options(problems, prop, options, key)
        if options.handler is not None:
            check_handler_free(
                problems, f"{prop}.handler", options.handler, api_path=self.node.path
            )
            check_imported_function(
                problems, f"{prop}.handler", options.handler, invoked_by_api=True, needs_role=True
            )
        if options.api_key_required and self._usage_plan_option is None:
            problems.add(
                f"{prop}.api_key_required",
                True,
                "API keys are only accepted through a usage plan: give the API a usage_plan "
                "(UsagePlanOptions()) or drop api_key_required",
            )
        if options.authorizer is not None:
            if key != CONNECT:
                problems.add(
                    f"{prop}.authorizer",
                    key,
                    "you can only set a WebSocket authorizer on the $connect route",
                )
            elif isinstance(options.authorizer, LambdaRequestAuthorizer):
                check_lambda_authorizer(problems, f"{prop}.authorizer", options.authorizer)

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

    # --- creation ---

    def _create_route(self, key: str, options: RouteOptions) -> apigwv2.WebSocketRoute:
        self._route_options[key] = options
        authorizer_option = options.authorizer
        if key == CONNECT and authorizer_option is None:
            authorizer_option = self._authorizer_option
        route = create_route(
            self.api,
            key,
            options,
            authorizer_option,
            model_selection_expression=self._model_selection_expression,
        )
        self.routes[key] = route
        # CloudFormation must create routes, and the permissions that let API Gateway invoke
        # their functions, before the auto-deployed stages that serve them (stages created
        # later get these dependencies in _create_stage).
        self._add_stage_dependency(route)
        if key == CONNECT and isinstance(authorizer_option, LambdaRequestAuthorizer):
            found = self.api.node.try_find_child(AUTHORIZER_ID)
            if isinstance(found, apigwv2.WebSocketAuthorizer):
                self.authorizer = found
                permission = authorizer_permission(self.api, found)
                if permission is not None:
                    self._add_stage_dependency(permission)
            self._attach_layer(authorizer_option.handler)
        if options.handler is not None:
            self._bind_handler(options.handler)
        return route

    def _add_stage_dependency(self, dependency: IConstruct) -> None:
        self._stage_dependencies.append(dependency)
        for stage in self.stages.values():
            stage.node.add_dependency(dependency)

    def _create_stage(
        self,
        options: StageOptions,
        retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
    ) -> None:
        stage, log_group = create_stage(
            self,
            options,
            api=self.api,
            access_log_retention=retention,
            removal_policy=removal_policy,
        )
        if log_group is not None:
            self.access_log_groups[options.stage_name] = log_group
        self.stages[options.stage_name] = stage
        if self.cloud_watch_account is not None:
            stage.node.add_dependency(self.cloud_watch_account)
        for dependency in self._stage_dependencies:
            stage.node.add_dependency(dependency)
        self._apply_route_settings(options)

    def _apply_route_settings(self, options: StageOptions) -> None:
        apply_route_settings(self.stages[options.stage_name], options, self._route_options)

    def _create_usage_plan(self, options: UsagePlanOptions) -> None:
        self.usage_plan = apigwv2.UsagePlan(
            self,
            "UsagePlan",
            usage_plan_name=options.usage_plan_name,
            throttle=options.throttle,
            quota=options.quota,
            api_stages=[
                apigwv2.UsagePlanPerApiStage(stage=stage) for stage in self.stages.values()
            ],
        )
        self.api_key = apigwv2.ApiKey(self, "ApiKey", api_key_name=options.api_key_name)
        self.usage_plan.add_api_key(self.api_key)

    def _map_custom_domain(self, domain: CustomDomainOptions) -> None:
        mapped = domain.stage_name or self._stage_names[0]
        self.domain_name, self.api_mapping = map_custom_domain(
            self, domain, api=self.api, stage=self.stages[mapped]
        )
        self.urls[mapped] = custom_domain_url(domain, "wss")
        self.callback_urls[mapped] = custom_domain_url(domain, "https")

    def _create_outputs(self) -> None:
        for name in self._stage_names:
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

    # --- what every handler gets ---

    def _bind_handler(self, handler: lambda_.IFunction) -> None:
        """Environment, layer and permissions, once per function; refuse another API's."""
        path = handler.node.path
        if path in self._bound_handlers:
            return
        problems = ProblemCollector(self.node.path)
        check_handler_free(problems, "handler", handler, api_path=self.node.path)
        problems.raise_if_any()
        claim_handler(handler, api_path=self.node.path)
        self._bound_handlers.add(path)
        set_handler_environment(self, handler, self.handler_environment)
        self._attach_layer(handler)
        self.grant_table_read_write(handler)
        self.grant_manage_connections(handler)

    def _attach_layer(self, handler: lambda_.IFunction) -> None:
        if self.runtime_layer is not None:
            add_runtime_layer(self, handler, self.runtime_layer)


def _initial_routes(
    connect: RouteHandler | None,
    disconnect: RouteHandler | None,
    default: RouteHandler | None,
    routes: Mapping[str, RouteHandler] | None,
) -> list[_InitialRoute]:
    """The constructor's routes in creation order: predefined ones, then ``routes``."""
    initial: list[_InitialRoute] = []
    for prop, key, given in (
        ("connect", CONNECT, connect),
        ("disconnect", DISCONNECT, disconnect),
        ("default", DEFAULT, default),
    ):
        if given is not None:
            initial.append((prop, key, to_route_options(given)))
    for key, given in (routes or {}).items():
        initial.append((f"routes[{key!r}]", key, to_route_options(given)))
    return initial
