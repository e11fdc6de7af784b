"""IAM for one emulated app: credentials per function, the ``@connections`` / Invoke checks
in the emulator's process, and the configuration of the check inside moto.

One :class:`LocalIam` per emulator. It hands each function's workers credentials standing
for its execution role (:meth:`credentials`), answers the ``AccessDeniedException`` of a
denied ``@connections`` call (:meth:`check_connections`) or Lambda ``Invoke``
(:meth:`check_invoke`), gives the moto process what it needs to check every other AWS call
(:meth:`moto_config`, see :mod:`.wsgi`), and turns every denial, its own or moto's
(:meth:`moto_output`), into one log line and an :class:`IamDenialRecord` on the emulator's
event bus (which the console shows).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from typing import Any, NamedTuple

from ..bus import EventBus
from .guard import Denial, Guard, access_key_of
from .model import Permissions
from .responses import Answer, connections_denied, lambda_denied
from .wsgi import DENIAL_PREFIX

__all__ = ["IamDenialRecord", "LocalIam"]

logger = logging.getLogger("cdk_ws_api.local")


class IamDenialRecord(NamedTuple):
    """Published on the emulator's bus for every denied call (``allowed``: ``--iam warn``
    let it through). ``line`` is the log line, naming the grant that is missing."""

    function: str
    principal: str
    action: str
    resource: str
    explicit: bool
    message: str
    allowed: bool
    line: str
    at: float


_SECRET = "local-emulator-secret"


class LocalIam:
    def __init__(
        self,
        permissions: Permissions | None,
        *,
        mode: str = "enforce",
        region: str,
        account: str,
        api_id: str,
        bus: EventBus | None = None,
    ) -> None:
        self.bus = bus
        self.configure(permissions, mode=mode, region=region, account=account, api_id=api_id)

    def configure(
        self, permissions: Permissions | None, *, mode: str, region: str, account: str, api_id: str
    ) -> None:
        """Check against ``permissions`` from now on (a re-synthesized app under ``--watch``;
        the moto process gets the same through :meth:`moto_config`)."""
        self.permissions = permissions or Permissions()
        self.region = region
        self.account = account
        self.api_id = api_id
        self.guard = Guard(self.permissions, mode, on_denial=self._denied)
        # The hot @connections path builds ARNs from these two prefixes only.
        self._execute_api = f"arn:aws:execute-api:{region}:{account}:{api_id}/"
        self._lambda = f"arn:aws:lambda:{region}:{account}:function:"

    @property
    def mode(self) -> str:
        return self.guard.mode

    def credentials(self, logical_id: str) -> dict[str, str]:
        """The credential variables of ``logical_id``'s workers (empty: the function is not
        in the template's permissions, so it keeps the shared fake keys)."""
        identity = self.permissions.identities.get(logical_id)
        if identity is None:
            return {}
        return {
            "AWS_ACCESS_KEY_ID": identity.access_key_id,
            "AWS_SECRET_ACCESS_KEY": _SECRET,
            # The session token names the principal, as an STS token stands for one.
            "AWS_SESSION_TOKEN": f"cdk-ws-api-local/{identity.arn}",
        }

    def moto_config(self) -> dict[str, Any] | None:
        """What :func:`.wsgi.guarded` needs, or ``None`` with ``--iam off``. With no
        function's identity yet the guard lets everything through, but stands in front of
        moto so that a re-synthesized app's identities can be checked there too."""
        if self.mode == "off":
            return None
        return {
            "mode": self.mode,
            "region": self.region,
            "account": self.account,
            "permissions": self.permissions.to_json(),
        }

    # -- checks in the emulator's process ---------------------------------------------------

    def check_connections(
        self, method: str, parts: Sequence[str], authorization: str | None
    ) -> Answer | None:
        """The 403 ``AccessDeniedException`` for an ``@connections`` call (``parts``: the
        path's segments ``["", stage, "@connections", id]``), or ``None`` to serve it."""
        if self.guard.mode == "off" or len(parts) != 4:
            return None
        resource = f"{self._execute_api}{parts[1]}/{method}/@connections/{parts[3]}"
        denial = self.guard.check(
            access_key_of(authorization), "execute-api:ManageConnections", resource
        )
        return None if denial is None else connections_denied(denial.message)

    def check_invoke(self, function_name: str, authorization: str | None) -> Answer | None:
        """The 403 ``AccessDeniedException`` for a Lambda ``Invoke`` of ``function_name`` (a
        name or an ARN), or ``None`` to serve it."""
        if self.guard.mode == "off":
            return None
        arn = function_name if function_name.startswith("arn:") else self._lambda + function_name
        denial = self.guard.check(access_key_of(authorization), "lambda:InvokeFunction", arn)
        return None if denial is None else lambda_denied(denial.message)

    # -- reporting --------------------------------------------------------------------------

    def _denied(self, denial: Denial, allowed: bool) -> None:
        self._publish(
            {
                **denial.to_json(),
                "allowed": allowed,
                "line": denial.log_line(tables=self.permissions.tables, allowed=allowed),
            }
        )

    def _publish(self, record: dict[str, Any]) -> None:
        logger.warning("%s", record["line"])
        if self.bus is not None and self.bus.active:
            fields = {name: record[name] for name in IamDenialRecord._fields if name != "at"}
            self.bus.publish(IamDenialRecord(**fields, at=time.time()))

    def moto_output(self, line: str) -> None:
        """One line of the moto process's stdout: a denial report, or logged as is."""
        if line.startswith(DENIAL_PREFIX):
            self._publish(json.loads(line[len(DENIAL_PREFIX) :]))
        elif line.strip():
            logger.info("[moto] %s", line)
