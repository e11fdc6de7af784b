"""Who is calling, is it allowed, and what to say when it is not (pure, no I/O).

:class:`Guard` is what every local service calls before it serves a request: it finds the
function behind the SigV4 access key id of the ``Authorization`` header, evaluates the
action on the resource ARN against that function's policies, and answers a :class:`Denial`
(or ``None``). Decisions are cached per ``(access key, action, resource)``, so the hot
path (the same function posting to the same connection) costs one header scan and one dict
lookup; the cache is bounded (cleared when full), so a flood of distinct connection ids
cannot grow it.

Requests signed with a key that is no function's (a test's or a script's boto3, the
emulator's own table setup) are not evaluated: they stand for the developer, an
administrator of the local account.

Modes (``--iam``): ``enforce`` answers the denial; ``warn`` reports it (``on_denial``) and
lets the call through; ``off`` evaluates nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .evaluate import CompiledPolicy, Decision, evaluate
from .model import Identity, Permissions

__all__ = ["IAM_MODES", "Denial", "Guard", "access_key_of", "construct_name", "hint"]

IAM_MODES = ("enforce", "warn", "off")
_CACHE_LIMIT = 8192


def access_key_of(authorization: str | None) -> str | None:
    """The access key id of a SigV4 ``Authorization`` header (``Credential=AKID/...``)."""
    if not authorization:
        return None
    start = authorization.find("Credential=")
    if start < 0:
        return None
    start += len("Credential=")
    end = authorization.find("/", start)
    return authorization[start:end] if end > start else None


@dataclass(frozen=True)
class Denial:
    """One denied call: AWS's message, and the emulator's log line naming the missing grant."""

    identity: Identity
    action: str
    resource: str
    decision: Decision

    @property
    def message(self) -> str:
        head = (
            f"User: {self.identity.arn} is not authorized to perform: {self.action} "
            f"on resource: {self.resource}"
        )
        if self.decision.explicit:
            return f"{head} with an explicit deny in an identity-based policy"
        return f"{head} because no identity-based policy allows the {self.action} action"

    def log_line(self, *, tables: Mapping[str, str] | None = None, allowed: bool = False) -> str:
        verdict = "would deny (--iam warn: allowed)" if allowed else "denied"
        return (
            f"IAM {verdict} {construct_name(self.identity.logical_id)}: {self.action} on "
            f"{self.resource}: "
            f"{hint(self, tables or {})}"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "function": self.identity.logical_id,
            "principal": self.identity.arn,
            "action": self.action,
            "resource": self.resource,
            "explicit": self.decision.explicit,
            "message": self.message,
        }


_TABLE_READ = {
    "getitem",
    "batchgetitem",
    "query",
    "scan",
    "conditioncheckitem",
    "describetable",
    "getrecords",
    "getsharditerator",
    "describestream",
}
_TABLE_WRITE = {"putitem", "updateitem", "deleteitem", "batchwriteitem"}
_GRANTS = {
    "sqs:sendmessage": "queue.grant_send_messages({fn})",
    "sqs:receivemessage": "queue.grant_consume_messages({fn})",
    "sqs:deletemessage": "queue.grant_consume_messages({fn})",
    "events:putevents": "event_bus.grant_put_events_to({fn})",
    "states:startexecution": "state_machine.grant_start_execution({fn})",
    "lambda:invokefunction": "function.grant_invoke({fn})",
    "sns:publish": "topic.grant_publish({fn})",
}


def construct_name(logical_id: str) -> str:
    """``ChatHandler`` for ``ChatHandler6667856F``: the logical id without the 8-character
    hash CDK appends, closer to the name in the app's code."""
    if len(logical_id) > 8 and re.fullmatch(r"[0-9A-F]{8}", logical_id[-8:]):
        return logical_id[:-8]
    return logical_id


def hint(denial: Denial, tables: Mapping[str, str]) -> str:
    """What to change in the CDK app so the call is allowed."""
    fn = construct_name(denial.identity.logical_id)
    if denial.decision.explicit:
        sid = f" (Sid {denial.decision.sid})" if denial.decision.sid else ""
        return f"remove or narrow the Deny statement{sid} of {denial.decision.policy}"
    action = denial.action.lower()
    service, _, operation = action.partition(":")
    if action == "execute-api:manageconnections":
        granted = any(
            "manageconnections" in str(doc).lower() for _, doc in denial.identity.policies
        )
        elsewhere = " (its ManageConnections grant covers other stages or methods)"
        return (
            f"give {fn} `api.grant_manage_connections({fn})` (cdk-ws-api) or "
            f"`stage.grant_management_api_access({fn})` (aws-cdk-lib) for this stage"
            + (elsewhere if granted else "")
        )
    if service == "dynamodb":
        name = denial.resource.split(":table/", 1)[-1].split("/", 1)[0]
        table = construct_name(tables[name]) if name in tables else "table"
        if operation in _TABLE_READ:
            return f"give {fn} `{table}.grant_read_data({fn})` (or grant_read_write_data)"
        if operation in _TABLE_WRITE:
            return f"give {fn} `{table}.grant_write_data({fn})` (or grant_read_write_data)"
        return f'give {fn} `{table}.grant({fn}, "{denial.action}")`'
    if action in _GRANTS:
        return f"give {fn} `{_GRANTS[action].format(fn=fn)}`"
    return (
        f'add `iam.PolicyStatement(actions=["{denial.action}"], '
        f'resources=["{denial.resource}"])` to {fn}\'s role ({denial.identity.role})'
    )


class Guard:
    """Decides calls of an app's functions under ``mode``; ``on_denial(denial, allowed)``
    is told of every denied call (``allowed`` is true under ``warn``)."""

    def __init__(
        self,
        permissions: Permissions,
        mode: str = "enforce",
        *,
        on_denial: Callable[[Denial, bool], None] | None = None,
    ) -> None:
        if mode not in IAM_MODES:
            raise ValueError(f"--iam must be one of {', '.join(IAM_MODES)}, not {mode!r}")
        self.permissions = permissions
        self.mode = mode
        self.on_denial = on_denial
        self._identities = permissions.by_access_key()
        self._policies = {
            key: [CompiledPolicy(name, doc) for name, doc in identity.policies]
            for key, identity in self._identities.items()
        }
        self._cache: dict[tuple[str, str, str], Denial | None] = {}

    @property
    def active(self) -> bool:
        return self.mode != "off" and bool(self._identities)

    def identity(self, access_key: str | None) -> Identity | None:
        return self._identities.get(access_key) if access_key else None

    def check(self, access_key: str | None, action: str, resource: str | None) -> Denial | None:
        """The denial to answer (``None``: serve the call). Under ``warn`` always ``None``,
        after telling ``on_denial``. ``resource`` ``None``: not known, actions only."""
        if self.mode == "off" or access_key is None:
            return None
        key = (access_key, action, resource or "")
        try:
            denial = self._cache[key]
        except KeyError:
            denial = self._decide(access_key, action, resource)
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[key] = denial
        if denial is None:
            return None
        warn = self.mode == "warn"
        if self.on_denial is not None:
            self.on_denial(denial, warn)
        return None if warn else denial

    def _decide(self, access_key: str, action: str, resource: str | None) -> Denial | None:
        identity = self._identities.get(access_key)
        if identity is None:
            return None  # not a function's key: the developer's own tools
        context = {
            "aws:PrincipalArn": f"arn:aws:iam::{identity.account}:role/{identity.role}",
            "aws:PrincipalAccount": identity.account,
            "aws:PrincipalType": "AssumedRole",
            "aws:SecureTransport": "true",  # on AWS these calls are HTTPS
            "aws:userid": f"{access_key}:{identity.function}",
        }
        decision = evaluate(self._policies[access_key], action, resource, context)
        if decision.allowed:
            return None
        return Denial(identity, action, resource or "*", decision)
