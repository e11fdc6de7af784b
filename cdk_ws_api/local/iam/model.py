"""Each function's execution role and its identity policies, read from the template (pure).

For every emulated function, the role named by its ``Role`` property, and the policies AWS
would evaluate for ``arn:aws:sts::{account}:assumed-role/{role}/{function}``:

- ``AWS::IAM::Policy`` and ``AWS::IAM::ManagedPolicy`` resources whose ``Roles`` name it;
- the role's inline ``Policies``;
- its ``ManagedPolicyArns``: a template ``AWS::IAM::ManagedPolicy`` (by ``Ref``) or an AWS
  managed policy of the built-in set (:mod:`.managed`).

Documents are resolved with the template's :class:`~..intrinsics.Resolver`, so ARNs built
from ``Ref``/``Fn::GetAtt``/``Fn::Join`` become the local ones (local table names, the local
API id). What cannot be known locally becomes a warning printed at start, never an error: an
unknown managed policy, a role that is not in the template (imported by ARN), a statement
whose intrinsics have no local value (dropped), an unsupported condition operator, a
permissions boundary (not evaluated). Under ``--iam enforce`` each of these grants nothing.

:class:`Permissions` is plain data: it goes as JSON to the moto process (see :mod:`.wsgi`).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..exceptions import IntrinsicError
from ..intrinsics import Resolver
from .evaluate import unsupported_conditions
from .managed import managed_policy

__all__ = ["Identity", "Permissions", "access_key_id", "read_permissions"]

_ROLE = "AWS::IAM::Role"
_POLICY = "AWS::IAM::Policy"
_MANAGED = "AWS::IAM::ManagedPolicy"


def access_key_id(stack: str, logical_id: str) -> str:
    """The local access key id standing for ``logical_id``'s execution role: 20 characters
    starting ``ASIA`` (AWS's prefix of temporary, assumed-role credentials), stable per
    stack and function so denials read the same across restarts."""
    digest = hashlib.sha256(f"{stack}/{logical_id}".encode()).digest()
    return "ASIA" + base64.b32encode(digest).decode()[:16]


@dataclass(frozen=True)
class Identity:
    """One function's principal: ``assumed-role/{role}/{function}`` and its policies as
    ``(name, document)`` pairs (``name`` says where the policy came from)."""

    logical_id: str
    function: str
    role: str
    account: str
    access_key_id: str
    policies: tuple[tuple[str, Mapping[str, Any]], ...] = ()

    @property
    def arn(self) -> str:
        return f"arn:aws:sts::{self.account}:assumed-role/{self.role}/{self.function}"

    def to_json(self) -> dict[str, Any]:
        return {
            "logical_id": self.logical_id,
            "function": self.function,
            "role": self.role,
            "account": self.account,
            "access_key_id": self.access_key_id,
            "policies": [[name, doc] for name, doc in self.policies],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Identity:
        return cls(
            logical_id=data["logical_id"],
            function=data["function"],
            role=data["role"],
            account=data["account"],
            access_key_id=data["access_key_id"],
            policies=tuple((str(n), d) for n, d in data["policies"]),
        )


@dataclass
class Permissions:
    """The identities of an app's functions (by logical id), the local table names (by
    name, to their logical ids, for the hints of a denial) and the start-time warnings."""

    identities: dict[str, Identity] = field(default_factory=dict)
    tables: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def merge(self, other: Permissions) -> None:
        """Add another stack's functions and tables (its warnings are the caller's)."""
        self.identities.update(other.identities)
        self.tables.update(other.tables)

    def by_access_key(self) -> dict[str, Identity]:
        return {i.access_key_id: i for i in self.identities.values()}

    def to_json(self) -> dict[str, Any]:
        return {
            "identities": {key: i.to_json() for key, i in self.identities.items()},
            "tables": self.tables,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Permissions:
        identities = {key: Identity.from_json(i) for key, i in data.get("identities", {}).items()}
        return cls(identities, dict(data.get("tables", {})))


def _role_id(value: Any, resources: Mapping[str, Any]) -> str | None:
    # Fn::GetAtt [Role, Arn] on a function, Ref Role in a policy's Roles.
    if isinstance(value, dict) and len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Fn::GetAtt":
            logical = arg[0] if isinstance(arg, list) else str(arg).split(".", 1)[0]
        elif key == "Ref":
            logical = arg
        else:
            return None
        if (resources.get(logical) or {}).get("Type") == _ROLE:
            return str(logical)
    return None


class _Reader:
    def __init__(self, resources: Mapping[str, Any], resolver: Resolver, account: str) -> None:
        self.resources = resources
        self.resolver = resolver
        self.account = account
        self.warnings: list[str] = []
        self.attached: dict[str, list[tuple[str, Mapping[str, Any]]]] = {}
        for logical_id, resource in resources.items():
            if resource.get("Type") in (_POLICY, _MANAGED):
                props = resource.get("Properties") or {}
                for role in props.get("Roles") or []:
                    role_id = _role_id(role, resources)
                    if role_id is not None:
                        kind = resource["Type"]
                        self.attached.setdefault(role_id, []).append(
                            (f"{logical_id} ({kind})", props.get("PolicyDocument") or {})
                        )

    def _resolve(self, where: str, document: Mapping[str, Any]) -> Mapping[str, Any]:
        statements = document.get("Statement") or []
        if isinstance(statements, dict):
            statements = [statements]
        resolved = []
        for index, statement in enumerate(statements):
            try:
                resolved.append(self.resolver.resolve(statement))
            except (IntrinsicError, ValueError, TypeError, IndexError, KeyError) as exc:
                self.warnings.append(
                    f"IAM: statement {index} of {where} has no local value ({exc}); ignored"
                )
        result = {"Version": document.get("Version", "2012-10-17"), "Statement": resolved}
        for operator in unsupported_conditions(result):
            self.warnings.append(
                f"IAM: condition operator {operator} in {where} is not supported locally; "
                "its statement never applies"
            )
        return result

    def role(self, role_id: str) -> tuple[str, list[tuple[str, Mapping[str, Any]]]]:
        props = self.resources[role_id].get("Properties") or {}
        name = props.get("RoleName")
        role_name = name if isinstance(name, str) else self.resolver.physical_id(role_id)
        policies: list[tuple[str, Mapping[str, Any]]] = []
        for inline in props.get("Policies") or []:
            where = f"{role_id} inline policy {inline.get('PolicyName', '?')}"
            policies.append((where, self._resolve(where, inline.get("PolicyDocument") or {})))
        for where, document in self.attached.get(role_id, []):
            policies.append((where, self._resolve(where, document)))
        for value in props.get("ManagedPolicyArns") or []:
            policies.extend(self._managed(role_id, value))
        if props.get("PermissionsBoundary"):
            self.warnings.append(f"IAM: {role_id}'s permissions boundary is not evaluated")
        return role_name, policies

    def _managed(self, role_id: str, value: Any) -> list[tuple[str, Mapping[str, Any]]]:
        if isinstance(value, dict) and "Ref" in value:
            target = self.resources.get(value["Ref"]) or {}
            if target.get("Type") == _MANAGED:
                if role_id in [
                    _role_id(r, self.resources)
                    for r in (target.get("Properties") or {}).get("Roles") or []
                ]:
                    return []  # already attached through its own Roles
                where = f"{value['Ref']} ({_MANAGED})"
                document = (target.get("Properties") or {}).get("PolicyDocument") or {}
                return [(where, self._resolve(where, document))]
        try:
            arn = self.resolver.resolve_string(value)
        except IntrinsicError as exc:
            self.warnings.append(f"IAM: a managed policy of {role_id} has no local value ({exc})")
            return []
        document = managed_policy(arn)
        if document is None:
            self.warnings.append(
                f"IAM: managed policy {arn} of {role_id} is unknown locally: it grants nothing "
                "here (the built-in set is listed in cdk_ws_api/local/README.md)"
            )
            return []
        return [(arn, self._resolve(arn, document))]


def read_permissions(
    resources: Mapping[str, Any],
    resolver: Resolver,
    *,
    stack: str,
    account: str,
    functions: Mapping[str, tuple[str, str]],
    tables: Mapping[str, str] | None = None,
) -> Permissions:
    """The :class:`Permissions` of ``functions`` (the app's key → the template's logical id
    and the local function name; the key is the logical id, or ``Stack/LogicalId`` for
    another stack's function); ``tables`` maps local table names to their logical ids."""
    reader = _Reader(resources, resolver, account)
    identities: dict[str, Identity] = {}
    roles: dict[str, tuple[str, list[tuple[str, Mapping[str, Any]]]]] = {}
    for key, (logical_id, function) in functions.items():
        props = (resources.get(logical_id) or {}).get("Properties") or {}
        if props.get("Role") is None:
            continue  # no role (a hand-written template): not checked, as before
        role_id = _role_id(props.get("Role"), resources)
        if role_id is None:
            try:
                role_arn = resolver.resolve_string(props.get("Role"))
            except IntrinsicError:
                role_arn = "?"
            reader.warnings.append(
                f"IAM: {logical_id}'s role {role_arn} is not in the template: its policies are "
                "unknown locally, so it is granted nothing here"
            )
            role_name = role_arn.rsplit("/", 1)[-1]
            policies: list[tuple[str, Mapping[str, Any]]] = []
        else:
            if role_id not in roles:
                roles[role_id] = reader.role(role_id)
            role_name, policies = roles[role_id]
        identities[key] = Identity(
            logical_id=logical_id,
            function=function,
            role=role_name,
            account=account,
            access_key_id=access_key_id(stack, logical_id),
            policies=tuple(policies),
        )
    # One warning per problem, even when several functions share a role.
    warnings = list(dict.fromkeys(reader.warnings))
    return Permissions(identities, dict(tables or {}), warnings)
