"""IAM in front of the embedded moto server: a WSGI middleware run inside the moto process.

moto's own enforcement (``INITIAL_NO_AUTH_ACTION_COUNT``) is not used: it evaluates every
DynamoDB call against resource ``*`` (so grants on a table ARN, what CDK writes, never
match), has no ``NotResource`` nor identity-policy conditions, and answers XML
``AccessDenied`` 403 where DynamoDB answers JSON ``AccessDeniedException`` 400. Here each
request signed with a function's key is decided by :class:`.guard.Guard` before moto sees it,
and a denial is answered in the service's own shape (:mod:`.responses`); requests signed with
any other key go straight to moto. Every denial is also written to stdout as one line
``iam-denial {json}`` that the emulator turns into its log line and console event.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .guard import Denial, Guard, access_key_of
from .model import Permissions
from .requests import authorizations
from .responses import dynamodb_denied, json_denied, query_denied

__all__ = ["DENIAL_PREFIX", "GuardedApp", "guarded"]

#: Prefix of the stdout lines that report a denial to the emulator.
DENIAL_PREFIX = "iam-denial "

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _report(permissions: Permissions) -> Callable[[Denial, bool], None]:
    def report(denial: Denial, allowed: bool) -> None:
        record = {
            **denial.to_json(),
            "allowed": allowed,
            "line": denial.log_line(tables=permissions.tables, allowed=allowed),
        }
        sys.stdout.write(DENIAL_PREFIX + json.dumps(record) + "\n")
        sys.stdout.flush()

    return report


class GuardedApp:
    """``app`` behind the guard; ``config``: ``{"mode", "region", "account",
    "permissions"}`` (:meth:`.model.Permissions.to_json`). :meth:`configure` swaps the
    configuration (the emulator applies a re-synthesized app under ``--watch``); a request
    reads one consistent configuration, whichever thread serves it."""

    def __init__(self, app: WsgiApp, config: Mapping[str, Any]) -> None:
        self.app = app
        self.configure(config)

    def configure(self, config: Mapping[str, Any]) -> None:
        permissions = Permissions.from_json(config["permissions"])
        guard = Guard(permissions, str(config["mode"]), on_denial=_report(permissions))
        # One tuple assigned at once: moto's threads never see a half-updated guard.
        self._state = (guard, str(config["region"]), str(config["account"]))

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        guard, region, account = self._state
        app = self.app
        authorization = environ.get("HTTP_AUTHORIZATION")
        access_key = access_key_of(authorization)
        if guard.identity(access_key) is None or guard.mode == "off":
            return app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        content_type = str(environ.get("CONTENT_TYPE") or "")
        scope = (authorization or "").split("Credential=", 1)[-1].split(",", 1)[0].split("/")
        service = scope[3] if len(scope) > 3 else ""
        pairs = authorizations(
            service=service,
            target=environ.get("HTTP_X_AMZ_TARGET"),
            body=body,
            content_type=content_type,
            region=region,
            account=account,
        )
        for action, resource in pairs:
            denial = guard.check(access_key, action, resource)
            if denial is None:
                continue
            if service == "dynamodb":
                status, headers, payload = dynamodb_denied(denial.message)
            elif "json" in content_type:
                status, headers, payload = json_denied(denial.message, content_type)
            else:
                status, headers, payload = query_denied(denial.message)
            headers["Content-Length"] = str(len(payload))
            start_response(
                f"{status} {'Bad Request' if status == 400 else 'Forbidden'}", list(headers.items())
            )
            return [payload]
        return app(environ, start_response)


def guarded(app: WsgiApp, config: Mapping[str, Any]) -> GuardedApp:
    """``app`` behind the guard (see :class:`GuardedApp`)."""
    return GuardedApp(app, config)
