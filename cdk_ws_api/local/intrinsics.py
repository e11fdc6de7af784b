"""CloudFormation intrinsic functions resolved to their local values (pure).

``Ref``, ``Fn::GetAtt``, ``Fn::Join``, ``Fn::Sub``, ``Fn::Select``, ``Fn::Split``, ``Fn::If``
(with the template's ``Conditions``), ``Fn::Equals``/``Not``/``And``/``Or``, ``Fn::FindInMap``,
``Fn::Base64``, ``Fn::GetAZs`` and the pseudo parameters are supported. A resource's ``Ref`` is
its *local* physical id (the local table name, the local function name, the local API id,
the stage name) as given by the caller in ``physical_ids``. ``Fn::ImportValue`` reads the
``exports`` the caller collected from the assembly's other stacks (their ``Outputs`` with an
``Export``, resolved locally); an unknown export or an attribute of an unknown resource type
raises :class:`IntrinsicError`.

:func:`localize_urls` then rewrites the API's AWS URLs inside resolved strings
(``https://{api}.execute-api.{region}.amazonaws.com/{stage}`` → ``http://HOST:PORT/{stage}``,
``wss://…`` → ``ws://HOST:PORT``) so handlers that read a callback URL from their environment
reach the emulator unchanged.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from typing import Any

from .exceptions import IntrinsicError

__all__ = ["NO_VALUE", "Resolver", "arn_for", "localize_urls"]

#: Returned for ``Ref: AWS::NoValue``; containers drop it.
NO_VALUE: Any = object()

_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")

# Service and resource path of the ARN of common resource types (name is the physical id).
_ARN_FORMATS: dict[str, str] = {
    "AWS::Lambda::Function": "arn:aws:lambda:{region}:{account}:function:{name}",
    "AWS::Lambda::LayerVersion": "arn:aws:lambda:{region}:{account}:layer:{name}:1",
    "AWS::DynamoDB::Table": "arn:aws:dynamodb:{region}:{account}:table/{name}",
    "AWS::IAM::Role": "arn:aws:iam::{account}:role/{name}",
    "AWS::IAM::Policy": "arn:aws:iam::{account}:policy/{name}",
    "AWS::SQS::Queue": "arn:aws:sqs:{region}:{account}:{name}",
    "AWS::SNS::Topic": "arn:aws:sns:{region}:{account}:{name}",
    "AWS::S3::Bucket": "arn:aws:s3:::{name}",
    "AWS::Logs::LogGroup": "arn:aws:logs:{region}:{account}:log-group:{name}:*",
    "AWS::Events::EventBus": "arn:aws:events:{region}:{account}:event-bus/{name}",
    "AWS::StepFunctions::StateMachine": "arn:aws:states:{region}:{account}:stateMachine:{name}",
    "AWS::KMS::Key": "arn:aws:kms:{region}:{account}:key/{name}",
}


def arn_for(resource_type: str, name: str, *, region: str, account: str) -> str | None:
    """The ARN a resource of ``resource_type`` named ``name`` has, or ``None`` if unknown."""
    fmt = _ARN_FORMATS.get(resource_type)
    return fmt.format(region=region, account=account, name=name) if fmt else None


class Resolver:
    """Resolves intrinsics of one template.

    ``physical_ids`` maps logical ids to the local ``Ref`` value; resources missing from it get
    ``{stack_name}-{logical_id}``. ``attributes`` overrides ``Fn::GetAtt`` for specific
    ``(logical_id, attribute)`` pairs (e.g. an API's ``ApiEndpoint``).
    """

    def __init__(
        self,
        template: Mapping[str, Any],
        *,
        stack_name: str,
        region: str,
        account: str,
        physical_ids: Mapping[str, str] | None = None,
        attributes: Mapping[tuple[str, str], str] | None = None,
        exports: Mapping[str, str] | None = None,
    ) -> None:
        self._resources: Mapping[str, Any] = template.get("Resources") or {}
        self._parameters: Mapping[str, Any] = template.get("Parameters") or {}
        self._conditions: Mapping[str, Any] = template.get("Conditions") or {}
        self._mappings: Mapping[str, Any] = template.get("Mappings") or {}
        self._stack_name = stack_name
        self._region = region
        self._account = account
        self._physical_ids = dict(physical_ids or {})
        self._attributes = dict(attributes or {})
        self._exports = exports if exports is not None else {}

    # -- public -----------------------------------------------------------------------------

    def physical_id(self, logical_id: str) -> str:
        """The local ``Ref`` value of a resource of this template."""
        if logical_id in self._physical_ids:
            return self._physical_ids[logical_id]
        return f"{self._stack_name}-{logical_id}"[:64]

    def resolve(self, value: Any) -> Any:
        """Resolve every intrinsic inside ``value``; plain values are returned unchanged."""
        if isinstance(value, list):
            items = [self.resolve(item) for item in value]
            return [item for item in items if item is not NO_VALUE]
        if isinstance(value, dict):
            if len(value) == 1:
                ((key, arg),) = value.items()
                if key == "Ref":
                    return self._ref(arg)
                if key == "Condition":
                    return self._condition(arg)
                if key.startswith("Fn::"):
                    return self._function(key, arg)
            resolved = {k: self.resolve(v) for k, v in value.items()}
            return {k: v for k, v in resolved.items() if v is not NO_VALUE}
        return value

    def resolve_string(self, value: Any) -> str:
        """Resolve ``value`` and render it as an environment-variable string."""
        resolved = self.resolve(value)
        if isinstance(resolved, bool):
            return "true" if resolved else "false"
        if isinstance(resolved, (dict, list)):
            raise IntrinsicError(f"expected a string, got {resolved!r}")
        return str(resolved)

    # -- intrinsics -------------------------------------------------------------------------

    def _ref(self, name: Any) -> Any:
        if not isinstance(name, str):
            raise IntrinsicError(f"Ref of a non-string: {name!r}")
        pseudo = {
            "AWS::Region": self._region,
            "AWS::AccountId": self._account,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": self._stack_name,
            "AWS::StackId": (
                f"arn:aws:cloudformation:{self._region}:{self._account}:stack/"
                f"{self._stack_name}/00000000-0000-0000-0000-000000000000"
            ),
            "AWS::NotificationARNs": [],
        }
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in pseudo:
            return pseudo[name]
        if name in self._parameters:
            parameter = self._parameters[name]
            if "Default" not in parameter:
                raise IntrinsicError(f"parameter {name} has no Default")
            return parameter["Default"]
        if name in self._resources:
            return self.physical_id(name)
        raise IntrinsicError(f"Ref to unknown {name!r}")

    def _get_att(self, logical_id: str, attribute: str) -> Any:
        if (logical_id, attribute) in self._attributes:
            return self._attributes[(logical_id, attribute)]
        resource = self._resources.get(logical_id)
        if resource is None:
            raise IntrinsicError(f"Fn::GetAtt of unknown resource {logical_id!r}")
        rtype = resource.get("Type", "")
        name = self.physical_id(logical_id)
        if attribute == "Arn":
            arn = arn_for(rtype, name, region=self._region, account=self._account)
            if arn is not None:
                return arn
        if rtype == "AWS::DynamoDB::Table" and attribute == "StreamArn":
            return (
                f"arn:aws:dynamodb:{self._region}:{self._account}:table/{name}/stream/"
                "1970-01-01T00:00:00.000"
            )
        if rtype == "AWS::ApiGatewayV2::Api":
            if attribute == "ApiId":
                return name
            if attribute == "ApiEndpoint":
                return f"wss://{name}.execute-api.{self._region}.amazonaws.com"
        if attribute in ("Name", "FunctionName", "TableName", "QueueName", "TopicName"):
            return name
        raise IntrinsicError(f"Fn::GetAtt {logical_id}.{attribute} ({rtype}) has no local value")

    def _function(self, key: str, arg: Any) -> Any:
        if key == "Fn::GetAtt":
            if isinstance(arg, str):
                arg = arg.split(".", 1)
            logical_id, attribute = self.resolve(arg)
            return self._get_att(logical_id, attribute)
        if key == "Fn::Join":
            delimiter, items = arg
            parts = self.resolve(items)
            if not isinstance(parts, list):
                raise IntrinsicError(f"Fn::Join of a non-list: {parts!r}")
            return str(self.resolve(delimiter)).join(_as_text(part) for part in parts)
        if key == "Fn::Sub":
            return self._sub(arg)
        if key == "Fn::Select":
            index, items = self.resolve(arg)
            if not isinstance(items, list):
                raise IntrinsicError(f"Fn::Select from a non-list: {items!r}")
            return items[int(index)]
        if key == "Fn::Split":
            delimiter, text = self.resolve(arg)
            return str(text).split(delimiter)
        if key == "Fn::If":
            condition, when_true, when_false = arg
            return self.resolve(when_true if self._condition(condition) else when_false)
        if key == "Fn::Equals":
            left, right = self.resolve(arg)
            return left == right
        if key == "Fn::Not":
            return not self._truth(arg[0])
        if key == "Fn::And":
            return all(self._truth(item) for item in arg)
        if key == "Fn::Or":
            return any(self._truth(item) for item in arg)
        if key == "Fn::FindInMap":
            name, top, second = self.resolve(arg)
            try:
                return self._mappings[name][top][second]
            except KeyError as exc:
                raise IntrinsicError(f"Fn::FindInMap {name}/{top}/{second} not found") from exc
        if key == "Fn::Base64":
            return base64.b64encode(str(self.resolve(arg)).encode()).decode()
        if key == "Fn::GetAZs":
            return [f"{self._region}{zone}" for zone in "abc"]
        if key == "Fn::ImportValue":
            name = _as_text(self.resolve(arg))
            if name not in self._exports:
                raise IntrinsicError(
                    f"Fn::ImportValue {name!r}: no stack of the assembly exports it"
                )
            return self._exports[name]
        raise IntrinsicError(f"{key} has no local value")

    def _truth(self, value: Any) -> bool:
        return bool(self.resolve(value))

    def _condition(self, name: Any) -> bool:
        if name not in self._conditions:
            raise IntrinsicError(f"unknown condition {name!r}")
        return self._truth(self._conditions[name])

    def _sub(self, arg: Any) -> str:
        if isinstance(arg, list):
            text, variables = arg[0], self.resolve(arg[1] if len(arg) > 1 else {})
        else:
            text, variables = arg, {}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return _as_text(variables[name])
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return _as_text(self._get_att(logical_id, attribute))
            return _as_text(self._ref(name))

        return _SUB_VARIABLE.sub(replace, str(text))


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)) or value is NO_VALUE:
        raise IntrinsicError(f"cannot render {value!r} as a string")
    return str(value)


def localize_urls(text: str, domains: Mapping[str, str]) -> str:
    """Rewrite ``https://DOMAIN`` / ``wss://DOMAIN`` of each AWS ``execute-api`` domain in
    ``domains`` to its local base (``domains[DOMAIN]`` is ``HOST:PORT``)."""
    for domain, local in domains.items():
        text = text.replace(f"https://{domain}", f"http://{local}")
        text = text.replace(f"wss://{domain}", f"ws://{local}")
    return text
