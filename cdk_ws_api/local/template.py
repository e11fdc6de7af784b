"""One CloudFormation template → the specs of the WebSocket API it declares (pure: reads
only the assembly's files).

:func:`read_stack` finds the API's stages, routes (their integration, route response and
authorizer), the Lambda functions behind them (code from ``aws:asset:path`` metadata or, when
the CDK CLI did not add it, from the S3 key through ``*.assets.json``; inline ``ZipFile``
code; layers; environment resolved by :mod:`.intrinsics`) and the DynamoDB tables. Whatever
cannot be emulated becomes a warning, never an error.

Local names: a resource with a literal name property (``FunctionName``, ``TableName``) keeps
it, others are named ``{stack}-{logicalId}``; the API id is a stable 10-character hash.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .exceptions import IntrinsicError, NoWebSocketApiError
from .iam.model import Permissions, read_permissions
from .integrations import SUPPORTED_ACTIONS, is_loopback
from .integrations.aws import parse_integration_uri
from .intrinsics import Resolver
from .specs import (
    ApiSpec,
    AuthorizerSpec,
    AwsSpec,
    EventSourceMappingSpec,
    FunctionSpec,
    GlobalIndexSpec,
    HttpSpec,
    IntegrationResponseSpec,
    IntegrationSpec,
    LambdaSpec,
    LocalApp,
    MockSpec,
    QueueSpec,
    ResourceSpec,
    RouteSpec,
    StackTemplate,
    TableSpec,
    UnsupportedSpec,
)

__all__ = ["read_exports", "read_other_stack", "read_stack", "websocket_apis"]

_API = "AWS::ApiGatewayV2::Api"
_FUNCTION = "AWS::Lambda::Function"
_LAYER = "AWS::Lambda::LayerVersion"
_TABLES = ("AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable")
_QUEUE = "AWS::SQS::Queue"
_BUS = "AWS::Events::EventBus"
_RULE = "AWS::Events::Rule"
_STATE_MACHINE = "AWS::StepFunctions::StateMachine"
_STREAM = "AWS::Kinesis::Stream"
_ESM = "AWS::Lambda::EventSourceMapping"

# Types that are read, or that have no runtime behaviour to emulate (IAM: see .iam.model).
_UNDERSTOOD = {
    _API,
    _FUNCTION,
    _LAYER,
    *_TABLES,
    "AWS::ApiGatewayV2::Route",
    "AWS::ApiGatewayV2::Integration",
    "AWS::ApiGatewayV2::RouteResponse",
    "AWS::ApiGatewayV2::IntegrationResponse",
    "AWS::ApiGatewayV2::Authorizer",
    "AWS::ApiGatewayV2::Model",
    _QUEUE,
    "AWS::SQS::QueuePolicy",
    _BUS,
    _RULE,
    _STATE_MACHINE,
    _STREAM,
    _ESM,
    "AWS::ApiGatewayV2::Stage",
    "AWS::ApiGatewayV2::Deployment",
    "AWS::ApiGateway::Account",
    "AWS::Lambda::Permission",
    "AWS::Logs::LogGroup",
    "AWS::CDK::Metadata",
}


def websocket_apis(template: Mapping[str, Any]) -> list[str]:
    return [
        logical_id
        for logical_id, resource in (template.get("Resources") or {}).items()
        if resource.get("Type") == _API
        and str((resource.get("Properties") or {}).get("ProtocolType", "")).upper() == "WEBSOCKET"
    ]


def _api_id(stack: str, logical_id: str) -> str:
    digest = int(hashlib.sha256(f"{stack}/{logical_id}".encode()).hexdigest(), 16)
    alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
    chars = []
    for _ in range(10):
        digest, index = divmod(digest, 36)
        chars.append(alphabet[index])
    return "".join(chars)


def _referenced(value: Any, resources: Mapping[str, Any], types: tuple[str, ...]) -> str | None:
    """First logical id of a resource of one of ``types`` referenced (Ref/GetAtt/Sub) inside
    ``value``: how an integration URI or a route target names its function or integration."""
    if isinstance(value, dict):
        if "Ref" in value and resources.get(value["Ref"], {}).get("Type") in types:
            return str(value["Ref"])
        if "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            logical_id = target.split(".")[0] if isinstance(target, str) else target[0]
            if resources.get(logical_id, {}).get("Type") in types:
                return str(logical_id)
        if isinstance(value.get("Fn::Sub"), (str, list)):
            text = value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]
            for logical_id, resource in resources.items():
                if resource.get("Type") in types and "${" + logical_id in str(text):
                    return str(logical_id)
        for item in value.values():
            found = _referenced(item, resources, types)
            if found:
                return found
    elif isinstance(value, list):
        for item in value:
            found = _referenced(item, resources, types)
            if found:
                return found
    return None


def _asset_keys(directory: Path) -> dict[str, str]:
    """S3 object key → asset path (relative to ``directory``), from ``*.assets.json``."""
    keys: dict[str, str] = {}
    for manifest in directory.glob("*.assets.json"):
        try:
            files = json.loads(manifest.read_text()).get("files") or {}
        except (OSError, ValueError):
            continue
        for asset in files.values():
            path = (asset.get("source") or {}).get("path")
            for destination in (asset.get("destinations") or {}).values():
                if path and destination.get("objectKey"):
                    keys[str(destination["objectKey"])] = str(path)
    return keys


class _StackReader:
    def __init__(
        self,
        stack: StackTemplate,
        stage: str | None,
        exports: Mapping[str, str] | None = None,
        key_prefix: str = "",
    ) -> None:
        self.stack = stack
        self.requested_stage = stage
        self.resources: Mapping[str, Any] = stack.template.get("Resources") or {}
        self.warnings: list[str] = []
        #: Prepended to the logical ids keying the functions and tables of a stack that is
        #: not the served one (``Stack/LogicalId``: logical ids repeat across stacks).
        self.key_prefix = key_prefix
        self.asset_keys = _asset_keys(stack.directory)
        physical_ids: dict[str, str] = {}
        self.names: dict[str, str] = {}
        for logical_id, resource in self.resources.items():
            physical_ids[logical_id] = self.names[logical_id] = self._physical_name(
                logical_id, resource
            )
        attributes = self._service_attributes(physical_ids)
        self.resolver = Resolver(
            stack.template,
            stack_name=stack.name,
            region=stack.region,
            account=stack.account,
            physical_ids=physical_ids,
            attributes=attributes,
            exports=exports,
        )

    def _service_attributes(self, physical_ids: dict[str, str]) -> dict[tuple[str, str], str]:
        # What Ref/GetAtt give for the resources created in moto where CloudFormation's Ref
        # is not the name: a queue's Ref is its URL, a state machine's its ARN.
        region, account = self.stack.region, self.stack.account
        attributes: dict[tuple[str, str], str] = {}
        for logical_id, resource in self.resources.items():
            rtype, name = resource.get("Type"), physical_ids[logical_id]
            if rtype == _QUEUE:
                url = f"https://sqs.{region}.amazonaws.com/{account}/{name}"
                physical_ids[logical_id] = url
                attributes[(logical_id, "QueueUrl")] = url
                attributes[(logical_id, "QueueName")] = name
                attributes[(logical_id, "Arn")] = f"arn:aws:sqs:{region}:{account}:{name}"
            elif rtype == _STATE_MACHINE:
                arn = f"arn:aws:states:{region}:{account}:stateMachine:{name}"
                physical_ids[logical_id] = attributes[(logical_id, "Arn")] = arn
                attributes[(logical_id, "Name")] = name
            elif rtype == _STREAM:
                attributes[(logical_id, "Arn")] = (
                    f"arn:aws:kinesis:{region}:{account}:stream/{name}"
                )
            elif rtype == _RULE:
                attributes[(logical_id, "Arn")] = f"arn:aws:events:{region}:{account}:rule/{name}"
        return attributes

    def _physical_name(self, logical_id: str, resource: Mapping[str, Any]) -> str:
        rtype = resource.get("Type")
        props = resource.get("Properties") or {}
        name_prop = {
            _FUNCTION: "FunctionName",
            "AWS::DynamoDB::Table": "TableName",
            "AWS::DynamoDB::GlobalTable": "TableName",
            _LAYER: "LayerName",
            _QUEUE: "QueueName",
            _BUS: "Name",
            _STATE_MACHINE: "StateMachineName",
            _STREAM: "Name",
            _RULE: "Name",
        }.get(str(rtype))
        if name_prop and isinstance(props.get(name_prop), str):
            return str(props[name_prop])
        if rtype == _QUEUE and props.get("FifoQueue") in (True, "true"):
            return f"{self.stack.name}-{logical_id}"[:75] + ".fifo"
        if rtype == _QUEUE:
            return f"{self.stack.name}-{logical_id}"[:80]
        if rtype == _API:
            return _api_id(self.stack.name, logical_id)
        if rtype == "AWS::ApiGatewayV2::Stage" and isinstance(props.get("StageName"), str):
            return str(props["StageName"])
        return f"{self.stack.name}-{logical_id}"[:64]

    def _of_type(self, rtype: str) -> dict[str, Mapping[str, Any]]:
        return {k: v for k, v in self.resources.items() if v.get("Type") == rtype}

    def _props(self, logical_id: str) -> Mapping[str, Any]:
        return self.resources[logical_id].get("Properties") or {}

    def _belongs(self, props: Mapping[str, Any], api_logical_id: str) -> bool:
        return _referenced(props.get("ApiId"), self.resources, (_API,)) == api_logical_id

    def read(self) -> LocalApp:
        apis = websocket_apis(self.stack.template)
        if not apis:
            raise NoWebSocketApiError(f"stack {self.stack.display_name} has no WEBSOCKET API")
        if len(apis) > 1:
            self.warnings.append(f"several WEBSOCKET APIs ({', '.join(apis)}); serving {apis[0]}")
        api_logical_id = apis[0]
        self._warn_unsupported()
        api = self._read_api(api_logical_id)
        queues, resources = self._read_service_resources()
        event_sources = self._read_event_sources(queues)
        wanted = {r.function for r in api.routes.values() if r.function}
        wanted |= {a.function for a in api.authorizers.values() if a.function}
        wanted |= {e.function for e in event_sources}
        functions, tables = self.read_functions_and_tables(wanted)
        permissions = self.read_permissions(functions, tables)
        return LocalApp(
            stack=self.stack.name,
            api=api,
            functions=functions,
            tables=tables,
            warnings=self.warnings,
            outputs=self._read_outputs(),
            resources=resources,
            event_sources=[e for e in event_sources if e.function in functions],
            permissions=permissions,
        )

    def read_functions_and_tables(
        self, wanted: set[str]
    ) -> tuple[dict[str, FunctionSpec], list[TableSpec]]:
        """Every Python function of the stack (those behind no route too: the Invoke API
        serves them) and every table. ``wanted`` (what routes and authorizers invoke) are
        warned about when they cannot run; other non-Python functions (the CDK's own
        providers) are skipped silently."""
        functions: dict[str, FunctionSpec] = {}
        for logical_id, resource in self.resources.items():
            if resource.get("Type") != _FUNCTION:
                continue
            runtime = str((resource.get("Properties") or {}).get("Runtime", ""))
            if logical_id not in wanted and not runtime.startswith("python"):
                continue
            spec = self._read_function(logical_id)
            if spec is not None:
                functions[self.key_prefix + logical_id] = spec
        tables = [
            self._read_table(lid, res)
            for lid, res in self.resources.items()
            if res.get("Type") in _TABLES
        ]
        return functions, tables

    def read_permissions(
        self, functions: Mapping[str, FunctionSpec], tables: list[TableSpec]
    ) -> Permissions:
        """Each of ``functions``' execution role and policies (:mod:`.iam.model`); what cannot
        be known locally is added to the warnings."""
        permissions = read_permissions(
            self.resources,
            self.resolver,
            stack=self.stack.name,
            account=self.stack.account,
            functions={key: (spec.logical_id, spec.name) for key, spec in functions.items()},
            tables={table.name: table.logical_id for table in tables},
        )
        self.warnings.extend(permissions.warnings)
        return permissions

    def read_exports(self) -> dict[str, str]:
        """``Export.Name`` → local value of the stack's exported outputs (the ones that
        resolve)."""
        exports: dict[str, str] = {}
        for output in (self.stack.template.get("Outputs") or {}).values():
            if not isinstance(output, dict) or "Export" not in output:
                continue
            try:
                name = self.resolver.resolve_string((output["Export"] or {}).get("Name"))
                exports[name] = self.resolver.resolve_string(output.get("Value"))
            except (IntrinsicError, ValueError, TypeError, IndexError):
                continue  # e.g. an export built from another stack's export not read yet
        return exports

    def _read_outputs(self) -> dict[str, str]:
        outputs: dict[str, str] = {}
        for name, output in (self.stack.template.get("Outputs") or {}).items():
            try:
                outputs[str(name)] = self.resolver.resolve_string(output.get("Value"))
            except IntrinsicError:
                # An output of a resource the emulator does not model: shown, not fatal.
                outputs[str(name)] = "(not resolvable locally)"
        return outputs

    def _warn_unsupported(self) -> None:
        ignored: dict[str, int] = {}
        for resource in self.resources.values():
            rtype = str(resource.get("Type"))
            if rtype in _UNDERSTOOD or rtype.startswith("AWS::IAM::"):
                continue
            ignored[rtype] = ignored.get(rtype, 0) + 1
        for rtype, count in sorted(ignored.items()):
            self.warnings.append(f"{count} {rtype} resource(s) not emulated (ignored)")

    def _read_api(self, api_logical_id: str) -> ApiSpec:
        props = self._props(api_logical_id)
        api_id = self.resolver.physical_id(api_logical_id)
        stages: dict[str, Mapping[str, Any]] = {}
        for logical_id in self._of_type("AWS::ApiGatewayV2::Stage"):
            stage_props = self._props(logical_id)
            if self._belongs(stage_props, api_logical_id):
                stages[self.resolver.physical_id(logical_id)] = stage_props
        if self.requested_stage is not None:
            if self.requested_stage not in stages:
                raise NoWebSocketApiError(
                    f"no stage {self.requested_stage!r} (stages: {', '.join(stages) or 'none'})"
                )
            stage = self.requested_stage
        elif stages:
            stage = next(iter(stages))
        else:
            stage = "local"
            self.warnings.append("the API has no AWS::ApiGatewayV2::Stage; serving stage 'local'")
        stage_variables = {
            str(k): str(v) for k, v in (stages.get(stage, {}).get("StageVariables") or {}).items()
        }

        responses: dict[str, list[IntegrationResponseSpec]] = {}
        for logical_id in self._of_type("AWS::ApiGatewayV2::IntegrationResponse"):
            rprops = self._props(logical_id)
            owner = _referenced(
                rprops.get("IntegrationId"), self.resources, ("AWS::ApiGatewayV2::Integration",)
            )
            if owner is None:
                continue
            responses.setdefault(owner, []).append(
                IntegrationResponseSpec(
                    key=str(rprops.get("IntegrationResponseKey", "$default")),
                    templates=self._strings(rprops.get("ResponseTemplates"), logical_id),
                    template_selection_expression=_optional(
                        rprops.get("TemplateSelectionExpression")
                    ),
                    content_handling=_optional(rprops.get("ContentHandlingStrategy")),
                )
            )
        integrations: dict[str, IntegrationSpec] = {}
        for logical_id in self._of_type("AWS::ApiGatewayV2::Integration"):
            iprops = self._props(logical_id)
            if not self._belongs(iprops, api_logical_id):
                continue
            integrations[logical_id] = self._read_integration(
                logical_id, iprops, tuple(responses.get(logical_id, ()))
            )
        models: dict[str, Any] = {}
        for logical_id in self._of_type("AWS::ApiGatewayV2::Model"):
            mprops = self._props(logical_id)
            if not self._belongs(mprops, api_logical_id):
                continue
            schema = self._safe_resolve(mprops.get("Schema"), logical_id)
            if isinstance(schema, str):
                try:
                    schema = json.loads(schema)
                except ValueError:
                    self.warnings.append(f"model {logical_id}: Schema is not JSON; ignored")
                    continue
            models[str(self._safe_resolve(mprops.get("Name", logical_id), logical_id))] = schema

        authorizers: dict[str, AuthorizerSpec] = {}
        for logical_id in self._of_type("AWS::ApiGatewayV2::Authorizer"):
            aprops = self._props(logical_id)
            if not self._belongs(aprops, api_logical_id):
                continue
            atype = str(aprops.get("AuthorizerType", "REQUEST"))
            function = _referenced(aprops.get("AuthorizerUri"), self.resources, (_FUNCTION,))
            if atype != "REQUEST" or function is None:
                self.warnings.append(
                    f"authorizer {logical_id} ({atype}) is not a Lambda REQUEST authorizer: "
                    "connections on its routes are rejected with 500"
                )
            sources = aprops.get("IdentitySource") or []
            if isinstance(sources, str):
                sources = [s.strip() for s in sources.split(",")]
            authorizers[logical_id] = AuthorizerSpec(
                logical_id=logical_id,
                name=str(self._safe_resolve(aprops.get("Name", logical_id), logical_id)),
                function=function,
                identity_sources=tuple(str(s) for s in sources),
                authorizer_type=atype,
            )

        responded = set()
        for logical_id in self._of_type("AWS::ApiGatewayV2::RouteResponse"):
            rprops = self._props(logical_id)
            route = _referenced(
                rprops.get("RouteId"), self.resources, ("AWS::ApiGatewayV2::Route",)
            )
            if route:
                responded.add(route)

        routes: dict[str, RouteSpec] = {}
        for logical_id in self._of_type("AWS::ApiGatewayV2::Route"):
            rprops = self._props(logical_id)
            if not self._belongs(rprops, api_logical_id):
                continue
            key = str(rprops.get("RouteKey"))
            integration = _referenced(
                rprops.get("Target"), self.resources, ("AWS::ApiGatewayV2::Integration",)
            )
            spec = integrations.get(integration or "")
            function = spec.function if isinstance(spec, LambdaSpec) else None
            itype = str(self._props(integration).get("IntegrationType", "")) if spec else ""
            if spec is None:
                self.warnings.append(f"route {key} has no integration: it answers 500")
            else:
                self._warn_integration(key, spec)
            request_models = self._strings(rprops.get("RequestModels"), logical_id)
            model_expression = _optional(rprops.get("ModelSelectionExpression"))
            if request_models and not model_expression:
                self.warnings.append(
                    f"route {key}: request models without a ModelSelectionExpression are not "
                    "validated (as on AWS)"
                )
            required = tuple(
                str(name)
                for name, value in (rprops.get("RequestParameters") or {}).items()
                if isinstance(value, dict) and value.get("Required") in (True, "true")
            )
            auth_type = str(rprops.get("AuthorizationType", "NONE"))
            authorizer = _referenced(
                rprops.get("AuthorizerId"), self.resources, ("AWS::ApiGatewayV2::Authorizer",)
            )
            if auth_type == "AWS_IAM":
                self.warnings.append(
                    f"route {key}: AWS_IAM: unsigned handshakes get 403; signatures are not "
                    "verified"
                )
            if rprops.get("ApiKeyRequired") is True:
                self.warnings.append(
                    f"route {key}: API key required: handshakes without x-api-key get 403; "
                    "key values and usage plans are not checked"
                )
            routes[key] = RouteSpec(
                key=key,
                function=function,
                integration_type=itype,
                return_response=logical_id in responded,
                authorization_type=auth_type,
                authorizer=authorizer if auth_type == "CUSTOM" else None,
                api_key_required=rprops.get("ApiKeyRequired") is True,
                integration=spec,
                model_selection_expression=model_expression,
                request_models=request_models,
                required_parameters=required,
            )

        return ApiSpec(
            logical_id=api_logical_id,
            name=str(self._safe_resolve(props.get("Name", api_logical_id), api_logical_id)),
            api_id=api_id,
            stage=stage,
            stages=tuple(stages) or (stage,),
            route_selection_expression=str(
                props.get("RouteSelectionExpression", "$request.body.action")
            ),
            routes=routes,
            authorizers=authorizers,
            region=self.stack.region,
            account=self.stack.account,
            stage_variables=stage_variables,
            models=models,
        )

    def _strings(self, value: Any, where: str) -> dict[str, str]:
        resolved = self._safe_resolve(value or {}, where)
        if not isinstance(resolved, dict):
            return {}
        return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in resolved.items()}

    def _read_integration(
        self,
        logical_id: str,
        props: Mapping[str, Any],
        responses: tuple[IntegrationResponseSpec, ...],
    ) -> IntegrationSpec:
        itype = str(props.get("IntegrationType", "")).upper()
        timeout = props.get("TimeoutInMillis")
        common: dict[str, Any] = {
            "logical_id": logical_id,
            "request_templates": self._strings(props.get("RequestTemplates"), logical_id),
            "template_selection_expression": _optional(props.get("TemplateSelectionExpression")),
            "passthrough_behavior": str(props.get("PassthroughBehavior") or "WHEN_NO_MATCH"),
            "request_parameters": self._strings(props.get("RequestParameters"), logical_id),
            "responses": responses,
            "response_selection_expression": _optional(
                props.get("IntegrationResponseSelectionExpression")
            ),
            "content_handling": _optional(props.get("ContentHandlingStrategy")),
            "timeout": float(timeout) / 1000 if isinstance(timeout, (int, float, str)) else None,
        }
        uri_value = props.get("IntegrationUri")
        function = _referenced(uri_value, self.resources, (_FUNCTION,))
        if itype == "AWS_PROXY":
            return LambdaSpec(function=function, **common)
        if itype == "MOCK":
            return MockSpec(**common)
        if props.get("ConnectionType") == "VPC_LINK":
            return UnsupportedSpec(integration_type=itype, reason="VPC links", **common)
        uri = self._safe_resolve(uri_value, logical_id)
        if itype in ("HTTP", "HTTP_PROXY") and isinstance(uri, str):
            method = str(props.get("IntegrationMethod") or "POST").upper()
            return HttpSpec(
                url=uri,
                method="POST" if method == "ANY" else method,
                proxy=itype == "HTTP_PROXY",
                **common,
            )
        if itype == "AWS" and function is not None:
            return LambdaSpec(function=function, proxy=False, **common)
        parsed = parse_integration_uri(uri) if itype == "AWS" and isinstance(uri, str) else None
        if parsed is not None:
            service, action, path = parsed
            credentials = self._safe_resolve(props.get("CredentialsArn"), logical_id)
            return AwsSpec(
                service=service,
                action=action,
                path=path,
                method=str(props.get("IntegrationMethod") or "POST").upper(),
                credentials_arn=credentials if isinstance(credentials, str) else None,
                **common,
            )
        return UnsupportedSpec(
            integration_type=itype, reason=f"integration URI {uri!r} not understood", **common
        )

    def _warn_integration(self, key: str, spec: IntegrationSpec) -> None:
        if isinstance(spec, UnsupportedSpec):
            self.warnings.append(f"route {key}: {spec.describe()}; it answers 500")
        elif isinstance(spec, AwsSpec):
            supported = SUPPORTED_ACTIONS.get(spec.service, frozenset())
            if spec.service not in SUPPORTED_ACTIONS or (
                spec.action and spec.action not in supported
            ):
                self.warnings.append(
                    f"route {key}: AWS {spec.service}:{spec.action or spec.path} is not among "
                    "the emulated actions; it is sent to moto as it is"
                )
        elif isinstance(spec, HttpSpec):
            host = urlsplit(spec.url).hostname or ""
            if not is_loopback(host):
                self.warnings.append(
                    f"route {key}: HTTP integration to {host} is called only with "
                    f"--allow-http-integration {host} (else it answers 500)"
                )
        if isinstance(spec, LambdaSpec) and spec.function is None:
            self.warnings.append(f"route {key}: its Lambda function is not in the template")
        if (spec.content_handling or "").upper() == "CONVERT_TO_BINARY":
            self.warnings.append(
                f"route {key}: request content handling CONVERT_TO_BINARY has no effect "
                "(binary frames are refused)"
            )

    def _read_service_resources(self) -> tuple[dict[str, QueueSpec], list[ResourceSpec]]:
        """The queues, event buses, state machines and streams to create in moto."""
        queues: dict[str, QueueSpec] = {}
        first: list[ResourceSpec] = []  # queues without a dead-letter queue come first
        later: list[ResourceSpec] = []
        rules: list[ResourceSpec] = []
        region, account = self.stack.region, self.stack.account
        for logical_id, resource in self.resources.items():
            rtype = resource.get("Type")
            if rtype not in (_QUEUE, _BUS, _STATE_MACHINE, _STREAM, _RULE):
                continue
            props = self._safe_resolve(resource.get("Properties") or {}, logical_id)
            name = self.names[logical_id]
            if rtype == _QUEUE:
                attributes = {
                    attr: str(props[prop]).lower()
                    if isinstance(props[prop], bool)
                    else str(props[prop])
                    for prop, attr in _QUEUE_ATTRIBUTES.items()
                    if prop in props
                }
                if isinstance(props.get("RedrivePolicy"), dict):
                    attributes["RedrivePolicy"] = json.dumps(props["RedrivePolicy"])
                arn = f"arn:aws:sqs:{region}:{account}:{name}"
                queues[logical_id] = QueueSpec(
                    logical_id=logical_id,
                    name=name,
                    arn=arn,
                    visibility_timeout=int(props.get("VisibilityTimeout", 30)),
                    fifo=name.endswith(".fifo"),
                )
                spec = ResourceSpec(
                    logical_id,
                    "sqs",
                    "CreateQueue",
                    {"QueueName": name, "Attributes": attributes},
                    arn,
                    name,
                )
                (later if "RedrivePolicy" in attributes else first).append(spec)
            elif rtype == _BUS and name != "default":
                first.append(
                    ResourceSpec(logical_id, "events", "CreateEventBus", {"Name": name}, name=name)
                )
            elif rtype == _STATE_MACHINE:
                definition = props.get("DefinitionString") or props.get("Definition") or {}
                params = {
                    "name": name,
                    "definition": definition
                    if isinstance(definition, str)
                    else json.dumps(definition),
                    "roleArn": str(
                        props.get("RoleArn") or f"arn:aws:iam::{account}:role/{name}-role"
                    ),
                    "type": str(props.get("StateMachineType") or "STANDARD"),
                }
                first.append(
                    ResourceSpec(
                        logical_id, "stepfunctions", "CreateStateMachine", params, name=name
                    )
                )
            elif rtype == _STREAM:
                params = {"StreamName": name, "ShardCount": int(props.get("ShardCount") or 1)}
                first.append(ResourceSpec(logical_id, "kinesis", "CreateStream", params, name=name))
            elif rtype == _RULE:
                rules.extend(self._rule(logical_id, name, props))
        # Rules last: their buses and target queues must exist.
        return queues, first + later + rules

    def _rule(self, logical_id: str, name: str, props: Mapping[str, Any]) -> list[ResourceSpec]:
        """``PutRule`` and ``PutTargets`` of an EventBridge rule: moto delivers matching events
        to SQS targets (targets of other kinds are named in the warnings)."""
        if "EventPattern" not in props:
            self.warnings.append(f"rule {logical_id}: only event-pattern rules are created")
            return []
        bus = str(props.get("EventBusName") or "default")
        rule: dict[str, Any] = {
            "Name": name,
            "EventPattern": json.dumps(props["EventPattern"]),
            "EventBusName": bus,
            "State": str(props.get("State") or "ENABLED"),
        }
        targets = []
        for target in props.get("Targets") or []:
            arn = str(target.get("Arn", ""))
            if arn.startswith("arn:aws:sqs:"):
                targets.append({"Id": str(target.get("Id", "t")), "Arn": arn})
            else:
                self.warnings.append(
                    f"rule {logical_id}: target {arn or target.get('Id')} is not emulated "
                    "(SQS targets only)"
                )
        specs = [ResourceSpec(logical_id, "events", "PutRule", rule, name=name)]
        if targets:
            specs.append(
                ResourceSpec(
                    logical_id,
                    "events",
                    "PutTargets",
                    {"Rule": name, "EventBusName": bus, "Targets": targets},
                    name=name,
                )
            )
        return specs

    def _read_event_sources(self, queues: dict[str, QueueSpec]) -> list[EventSourceMappingSpec]:
        mappings = []
        for logical_id, props in ((k, self._props(k)) for k in self._of_type(_ESM)):
            queue = _referenced(props.get("EventSourceArn"), self.resources, (_QUEUE,))
            function = _referenced(props.get("FunctionName"), self.resources, (_FUNCTION,))
            if queue is None or function is None or queue not in queues:
                self.warnings.append(
                    f"event source mapping {logical_id}: only SQS queues of the template feeding "
                    "functions of the template are emulated; ignored"
                )
                continue
            mappings.append(
                EventSourceMappingSpec(
                    logical_id=logical_id,
                    function=function,
                    queue=queues[queue],
                    batch_size=int(props.get("BatchSize") or 10),
                    batch_window=float(props.get("MaximumBatchingWindowInSeconds") or 0),
                    report_batch_item_failures="ReportBatchItemFailures"
                    in (props.get("FunctionResponseTypes") or []),
                    enabled=props.get("Enabled", True) not in (False, "false"),
                )
            )
        return mappings

    def _safe_resolve(self, value: Any, where: str) -> Any:
        try:
            return self.resolver.resolve(value)
        except IntrinsicError as exc:
            self.warnings.append(f"{where}: {exc}")
            return where

    def _asset_dir(self, logical_id: str, prop: str) -> Path | None:
        # The asset metadata is only written when the CDK CLI asks for it; otherwise the
        # S3 object key leads to the asset through the assets manifest.
        metadata = self.resources[logical_id].get("Metadata") or {}
        path = metadata.get("aws:asset:path")
        if not path or metadata.get("aws:asset:property", prop) != prop:
            location = self._props(logical_id).get(prop) or {}
            path = self.asset_keys.get(str(location.get("S3Key", "")))
        if not path:
            return None
        full = (self.stack.directory / path).resolve()
        if full.is_file() and full.suffix == ".zip":
            # A pre-built zip asset: unpack once, like Lambda does into /var/task.
            target = Path(tempfile.mkdtemp(prefix=f"cdk-ws-api-{logical_id}-"))
            with zipfile.ZipFile(full) as archive:
                archive.extractall(target)
            return target
        return full

    def _read_function(self, logical_id: str) -> FunctionSpec | None:
        props = self._props(logical_id)
        runtime = str(props.get("Runtime", ""))
        if not runtime.startswith("python"):
            self.warnings.append(
                f"function {logical_id}: runtime {runtime or 'container image'} is not emulated "
                "(Python only); its routes answer 500"
            )
            return None
        code = props.get("Code") or {}
        code_dir: Path | None
        if isinstance(code.get("ZipFile"), (str, dict)):
            source = self._safe_resolve(code["ZipFile"], logical_id)
            code_dir = Path(tempfile.mkdtemp(prefix=f"cdk-ws-api-{logical_id}-"))
            # Lambda stores inline Python code as index.py.
            (code_dir / "index.py").write_text(str(source))
        else:
            code_dir = self._asset_dir(logical_id, "Code")
        if code_dir is None or not code_dir.exists():
            self.warnings.append(f"function {logical_id}: code asset not found; routes answer 500")
            return None
        layers: list[Path] = []
        for layer in props.get("Layers") or []:
            layer_id = _referenced(layer, self.resources, (_LAYER,))
            layer_dir = self._asset_dir(layer_id, "Content") if layer_id else None
            if layer_dir is None:
                self.warnings.append(
                    f"function {logical_id}: layer {layer!r} is not local; skipped"
                )
                continue
            layers.append(layer_dir / "python")
            site = sorted((layer_dir / "python" / "lib").glob("python3*/site-packages"))
            layers.extend(site)
        environment: dict[str, str] = {}
        variables = (props.get("Environment") or {}).get("Variables") or {}
        for name, value in variables.items():
            try:
                environment[str(name)] = self.resolver.resolve_string(value)
            except (IntrinsicError, ValueError, TypeError, IndexError) as exc:
                self.warnings.append(f"function {logical_id}: env {name} unresolved ({exc})")
        name = self.resolver.physical_id(logical_id)
        return FunctionSpec(
            logical_id=logical_id,
            stack=self.stack.display_name,
            path=_construct_path(self.resources[logical_id]),
            name=name,
            handler=str(props.get("Handler", "index.handler")),
            runtime=runtime,
            code_dir=code_dir,
            layer_dirs=tuple(layers),
            environment=environment,
            timeout=float(props.get("Timeout", 3)),
            memory_mb=int(props.get("MemorySize", 128)),
            arn=f"arn:aws:lambda:{self.stack.region}:{self.stack.account}:function:{name}",
        )

    def _read_table(self, logical_id: str, resource: Mapping[str, Any]) -> TableSpec:
        props = resource.get("Properties") or {}

        def keys(schema: Any) -> tuple[tuple[str, str], ...]:
            return tuple((str(k["AttributeName"]), str(k["KeyType"])) for k in schema or [])

        def indexes(items: Any) -> tuple[GlobalIndexSpec, ...]:
            return tuple(
                GlobalIndexSpec(
                    name=str(index["IndexName"]),
                    key_schema=keys(index.get("KeySchema")),
                    projection=dict(index.get("Projection") or {"ProjectionType": "ALL"}),
                )
                for index in items or []
            )

        ttl = props.get("TimeToLiveSpecification") or {}
        stream = props.get("StreamSpecification") or {}
        return TableSpec(
            logical_id=logical_id,
            name=self.resolver.physical_id(logical_id),
            key_schema=keys(props.get("KeySchema")),
            attribute_definitions=tuple(
                (str(a["AttributeName"]), str(a["AttributeType"]))
                for a in props.get("AttributeDefinitions") or []
            ),
            global_indexes=indexes(props.get("GlobalSecondaryIndexes")),
            local_indexes=indexes(props.get("LocalSecondaryIndexes")),
            ttl_attribute=str(ttl["AttributeName"]) if ttl.get("Enabled") else None,
            stream_view_type=stream.get("StreamViewType"),
            path=_construct_path(resource),
        )


#: CloudFormation properties of a queue → SQS attributes.
_QUEUE_ATTRIBUTES = {
    "VisibilityTimeout": "VisibilityTimeout",
    "MessageRetentionPeriod": "MessageRetentionPeriod",
    "DelaySeconds": "DelaySeconds",
    "MaximumMessageSize": "MaximumMessageSize",
    "ReceiveMessageWaitTimeSeconds": "ReceiveMessageWaitTimeSeconds",
    "FifoQueue": "FifoQueue",
    "ContentBasedDeduplication": "ContentBasedDeduplication",
}


def _optional(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _construct_path(resource: Mapping[str, Any]) -> str:
    """``Stack/Construct`` from ``aws:cdk:path`` metadata (``""`` when the app has none)."""
    metadata = resource.get("Metadata") or {}
    return str(metadata.get("aws:cdk:path", "")).removesuffix("/Resource")


def read_stack(
    stack: StackTemplate, *, stage: str | None = None, exports: Mapping[str, str] | None = None
) -> LocalApp:
    """The API of ``stack`` with ``stage`` (default: its first stage), its functions and
    tables; ``exports`` are what ``Fn::ImportValue`` resolves to.

    Raises :class:`NoWebSocketApiError` when the stack has no ``WEBSOCKET`` API or no such stage.
    """
    return _StackReader(stack, stage, exports).read()


def read_other_stack(
    stack: StackTemplate, *, exports: Mapping[str, str]
) -> tuple[dict[str, FunctionSpec], list[TableSpec], list[str], Permissions]:
    """The Python functions (keyed ``Stack/LogicalId``), tables, warnings and the functions'
    IAM permissions of a stack that is served alongside the API's, for the Invoke API and for
    the functions that other stacks' code calls."""
    reader = _StackReader(stack, None, exports, key_prefix=f"{stack.display_name}/")
    functions, tables = reader.read_functions_and_tables(set())
    permissions = reader.read_permissions(functions, tables)
    return functions, tables, reader.warnings, permissions


def read_exports(stack: StackTemplate, *, exports: Mapping[str, str]) -> dict[str, str]:
    """The exports of ``stack`` resolved locally (``exports``: those known so far, for an
    export built from another stack's)."""
    return _StackReader(stack, None, exports).read_exports()
