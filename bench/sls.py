"""serverless-offline (serverless v3) serving the same echo handler as the emulator.

The service is written to ``bench/.peers/sls-echo/``: ``serverless.yml`` (provider aws,
runtime python3.11, websocket routes ``$connect``, ``echo``, ``reply`` and ``whoami`` with
``routeResponseSelectionExpression: $default`` on the two-way ones) and a copy of
``bench/echo/handler.py``. It runs fully offline: telemetry and notifications off, fake AWS
credentials, the project's virtualenv first on ``PATH`` (``VIRTUAL_ENV``) so the handler's
``python3`` has boto3, every port on 127.0.0.1.
"""

from __future__ import annotations

import os
import shutil

from .core import BENCH, PEERS, ROOT
from .peers import NODE_DIR, ensure_serverless
from .proc import Server, free_port

__all__ = ["ServerlessOffline"]

SERVICE_DIR = PEERS / "sls-echo"
SERVERLESS_YML = """\
service: bench-echo
frameworkVersion: "3"
provider:
  name: aws
  runtime: python3.11
  region: us-east-1
  stage: bench
  environment:
    ECHO_MANAGEMENT_ENDPOINT: http://127.0.0.1:{websocket_port}
plugins:
  - serverless-offline
functions:
  connect:
    handler: handler.connect
    events:
      - websocket:
          route: $connect
  echo:
    handler: handler.echo
    events:
      - websocket:
          route: echo
  reply:
    handler: handler.reply
    events:
      - websocket:
          route: reply
          routeResponseSelectionExpression: $default
  whoami:
    handler: handler.whoami
    events:
      - websocket:
          route: whoami
          routeResponseSelectionExpression: $default
"""
FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "AKIABENCHOFFLINE0000",
    "AWS_SECRET_ACCESS_KEY": "bench-offline-secret",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
}


def peer_environment(**extra: str) -> dict[str, str]:
    """The environment a peer server runs in (serverless-offline, Architect sandbox): this
    process's, fake AWS credentials, the project's virtualenv first on ``PATH`` (so the
    ``python3`` the peer starts for a handler has boto3), then ``extra``."""
    venv = ROOT / ".venv"
    env = dict(os.environ)
    env.update(FAKE_AWS)
    env.update(
        VIRTUAL_ENV=str(venv), PATH=os.pathsep.join([str(venv / "bin"), env.get("PATH", "")])
    )
    env.update(extra)
    return env


class ServerlessOffline:
    """``with ServerlessOffline() as sls:`` → ``sls.websocket_url``, ``sls.pid``."""

    def __init__(self, ready_timeout: float = 120.0) -> None:
        self.binary = ensure_serverless()
        self.ready_timeout = ready_timeout
        self.server: Server | None = None
        self.websocket_url = ""
        self.command: list[str] = []

    @property
    def pid(self) -> int:
        assert self.server is not None
        return self.server.pid

    def _write_service(self, websocket_port: int) -> None:
        SERVICE_DIR.mkdir(parents=True, exist_ok=True)
        (SERVICE_DIR / "serverless.yml").write_text(
            SERVERLESS_YML.format(websocket_port=websocket_port)
        )
        shutil.copyfile(BENCH / "echo" / "handler.py", SERVICE_DIR / "handler.py")
        link = SERVICE_DIR / "node_modules"  # the plugin is resolved from the service dir
        if not link.exists():
            link.symlink_to(NODE_DIR / "node_modules", target_is_directory=True)

    def __enter__(self) -> ServerlessOffline:
        http_port, websocket_port, lambda_port = free_port(), free_port(), free_port()
        self._write_service(websocket_port)
        env = peer_environment(
            SLS_TELEMETRY_DISABLED="1", SLS_NOTIFICATIONS_MODE="off", SLS_DEPRECATION_DISABLE="*"
        )
        self.command = [
            str(self.binary),
            "offline",
            "start",
            "--noPrependStageInUrl",
            "--host",
            "127.0.0.1",
            "--httpPort",
            str(http_port),
            "--websocketPort",
            str(websocket_port),
            "--lambdaPort",
            str(lambda_port),
        ]
        self.server = Server(self.command, cwd=SERVICE_DIR, env=env, name="serverless-offline")
        try:
            self.server.wait_for(
                lambda line: "[websocket] listening on ws://" in line, self.ready_timeout
            )
        except BaseException:
            self.server.stop()
            raise
        self.websocket_url = f"ws://127.0.0.1:{websocket_port}"
        return self

    def __exit__(self, *exc: object) -> None:
        if self.server is not None:
            self.server.stop()
