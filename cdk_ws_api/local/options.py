"""Every option of ``cdk-ws-api local``, written once: name, type, default, help and limits.

:class:`EmulatorOptions` is the one frozen object the emulator, the command line and
:mod:`cdk_ws_api.testing` share. Each field carries its flag's help and limits in its metadata
(:func:`_option`); :func:`add_arguments` derives the argparse flags from the fields and
:meth:`EmulatorOptions.from_namespace` reads them back, so a new option is one entry here.
Values are checked when the object is built: a wrong type or a value outside its limits raises
:class:`~.exceptions.OptionError` naming the option and the rule (argparse turns it into its
usual ``error: argument --port: ...`` line).

Pure: imports only the standard library (and ``lambda_runtime.env``, which imports nothing).
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from lambda_runtime.env import MESSAGE_BYTES as _MESSAGE_BYTES

from .exceptions import OptionError

__all__ = [
    "FRAME_BYTES",
    "MESSAGE_BYTES",
    "EmulatorOptions",
    "Limits",
    "OptionSpec",
    "add_arguments",
    "option_specs",
]

#: API Gateway's WebSocket frame quota: a larger incoming frame closes with 1009, larger
#: outgoing messages are split into frames of this size.
FRAME_BYTES = 32 * 1024
#: API Gateway's WebSocket message quota (128 KiB, defined by ``lambda_runtime.env``): a larger
#: incoming message closes with 1009, a larger ``PostToConnection`` payload gets 413.
MESSAGE_BYTES = _MESSAGE_BYTES


@dataclass(frozen=True)
class OptionSpec:
    """What the command line needs to know about one option besides its name and default."""

    help: str
    metavar: str | None = None
    #: Inclusive bounds checked on every build (``None``: unbounded).
    minimum: float | None = None
    maximum: float | None = None
    #: Options of one group are mutually exclusive on the command line.
    group: str | None = None
    #: The value's type when the default is ``None`` (``str`` otherwise inferred from it).
    kind: type = str
    #: The only values allowed (``None``: any value of ``kind``).
    choices: tuple[Any, ...] | None = None

    def check(self, name: str, value: Any) -> None:
        if value is None:
            return
        expected: tuple[type, ...] = (int, float) if self.kind is float else (self.kind,)
        if (isinstance(value, bool) and self.kind is not bool) or not isinstance(value, expected):
            raise OptionError(
                f"{name}: expected {self.kind.__name__}, got {type(value).__name__} {value!r}"
            )
        if self.choices is not None and value not in self.choices:
            allowed = ", ".join(map(str, self.choices))
            raise OptionError(f"{name}: must be one of {allowed}, got {value!r}")
        if self.minimum is not None and value < self.minimum:
            raise OptionError(f"{name}: must be >= {self.minimum:g}, got {value!r}")
        if self.maximum is not None and value > self.maximum:
            raise OptionError(f"{name}: must be <= {self.maximum:g}, got {value!r}")


def _option(default: Any, help: str, **spec: Any) -> Any:
    if "kind" not in spec and default is not None:
        spec["kind"] = type(default)
    return field(default=default, metadata={"option": OptionSpec(help=help, **spec)})


def _seconds(default: float, help: str, *, minimum: float = 0.01) -> Any:
    return _option(default, help, metavar="SECONDS", minimum=minimum)


@dataclass(frozen=True)
class Limits:
    """API Gateway's WebSocket quotas and the timeouts the gateway enforces (built by
    :attr:`EmulatorOptions.limits`; the timeouts have no default of their own)."""

    idle_timeout: float
    max_duration: float
    integration_timeout: float
    frame_bytes: int = FRAME_BYTES
    message_bytes: int = MESSAGE_BYTES
    #: Unsent output one connection may hold before it is closed with 1008: no AWS quota,
    #: the emulator's bound for a client that does not read (see :mod:`.gateway`).
    output_buffer_bytes: int = 1024 * 1024
    #: Messages of one connection waiting for their integration before reading it stops.
    queued_messages: int = 16
    #: Seconds a server-side close waits for the closing handshake before aborting TCP.
    close_timeout: float = 5.0


@dataclass(frozen=True)
class EmulatorOptions:
    """The knobs of ``cdk-ws-api local`` (and of :mod:`cdk_ws_api.testing`).

    ``app``/``assembly``/``output``/``stack``/``stage`` say what to serve; the others how.
    """

    # -- what to serve -------------------------------------------------------------------
    app: str | None = _option(
        None,
        "command that synthesizes the CDK app (default: the 'app' of ./cdk.json)",
        group="source",
    )
    assembly: str | None = _option(
        None, "serve an existing cloud assembly", metavar="DIR", group="source"
    )
    output: str | None = _option(
        None, "where --app synthesizes (default: a temporary directory)", metavar="DIR"
    )
    stack: str | None = _option(
        None, "stack name or path (default: the first stack with a WebSocket API)"
    )
    stage: str | None = _option(None, "stage to serve (default: the API's first stage)")
    # -- where --------------------------------------------------------------------------
    host: str = _option("127.0.0.1", "address to bind (default: %(default)s)")
    port: int = _option(
        3001,
        "port to bind, 0 for any free port (default: %(default)s)",
        minimum=0,
        maximum=65535,
    )
    # -- workers ------------------------------------------------------------------------
    #: 2, not more: the handlers share the machine's cores with the gateway, so more
    #: processes add memory (30-45 MiB each), not throughput.
    concurrency: int = _option(
        2, "warm workers per function at most (default: %(default)s)", minimum=1
    )
    #: AWS keeps an idle execution environment for minutes (unspecified, typically 5-15);
    #: locally a process costs 30-45 MiB, so extra workers go sooner.
    worker_idle_timeout: float = _seconds(
        60.0,
        "stop a worker idle this long, keeping each function's last one warm; 0: never "
        "(default: %(default)s; AWS keeps idle environments for minutes)",
        minimum=0,
    )
    # -- API Gateway's limits ------------------------------------------------------------
    idle_timeout: float = _seconds(
        600.0, "close idle connections with 1001 (default: %(default)s, as AWS)"
    )
    max_duration: float = _seconds(
        7200.0, "close connections older than this (default: %(default)s, as AWS)"
    )
    integration_timeout: float = _seconds(
        29.0, "answer 'Internal server error' after this (default: %(default)s)"
    )
    header_timeout: float = _seconds(
        10.0,
        "close a connection whose request (head and body) is not complete this long after "
        "its first byte, with 408 (default: %(default)s)",
    )
    concurrent_messages: bool = _option(
        False, "handle one connection's messages concurrently, as AWS may (default: in order)"
    )
    # -- integrations -------------------------------------------------------------------
    #: HTTP/HTTP_PROXY integrations reach loopback hosts only, unless named here: a test run
    #: must not send traffic to the internet by surprise (see :mod:`.integrations.http`).
    allow_http_integration: str | None = _option(
        None,
        "let HTTP/HTTP_PROXY integrations call these hosts besides loopback, comma-separated "
        "(default: loopback only; a warning names each one allowed)",
        metavar="HOST[,HOST...]",
    )
    # -- IAM ----------------------------------------------------------------------------
    #: Each function's AWS calls checked against its execution role's policies (:mod:`.iam`).
    iam: str = _option(
        "enforce",
        "check each function's AWS calls against its execution role: enforce answers "
        "AccessDeniedException, warn logs the denial and serves the call, off checks "
        "nothing (default: %(default)s)",
        choices=("enforce", "warn", "off"),
    )
    # -- development loop ----------------------------------------------------------------
    watch: bool = _option(
        False,
        "replace a function's warm workers when a file of its code or layers changes "
        "(the app is synthesized with asset staging disabled, so code runs from its source)",
    )
    # -- output -------------------------------------------------------------------------
    quiet: bool = _option(False, "no access log lines")
    # -- browser ------------------------------------------------------------------------
    no_console: bool = _option(
        False,
        "do not serve the browser console at /_console/ (default: served, its URL with a "
        "per-run token printed at start)",
    )
    static: str | None = _option(
        None, "serve the static files of DIR at / (e.g. a web client of the API)", metavar="DIR"
    )

    def __post_init__(self) -> None:
        for name, spec in option_specs().items():
            spec.check(name, getattr(self, name))

    # -- derived views ------------------------------------------------------------------

    @property
    def limits(self) -> Limits:
        return Limits(
            idle_timeout=self.idle_timeout,
            max_duration=self.max_duration,
            integration_timeout=self.integration_timeout,
        )

    @property
    def ordered_messages(self) -> bool:
        """One connection's messages are handled in order (see :mod:`.gateway`)."""
        return not self.concurrent_messages

    @property
    def http_integration_hosts(self) -> frozenset[str]:
        """``allow_http_integration`` as a set of lower-case host names."""
        text = self.allow_http_integration or ""
        return frozenset(h.strip().lower() for h in text.split(",") if h.strip())

    @property
    def worker_idle_seconds(self) -> float | None:
        """``worker_idle_timeout`` with 0 spelled ``None`` (never reap)."""
        return self.worker_idle_timeout or None

    def replace(self, **changes: Any) -> EmulatorOptions:
        """A copy with ``changes`` (checked like the original)."""
        unknown = set(changes) - set(option_specs())
        if unknown:
            raise OptionError(f"unknown option(s): {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> EmulatorOptions:
        """Build from keyword values, naming any unknown one."""
        return cls().replace(**values)

    @classmethod
    def from_namespace(cls, args: argparse.Namespace) -> EmulatorOptions:
        """Read the flags :func:`add_arguments` declared back from parsed arguments."""
        return cls(**{name: getattr(args, name) for name in option_specs()})


def option_specs() -> dict[str, OptionSpec]:
    """Every option's :class:`OptionSpec`, by field name, in declaration order."""
    return {f.name: f.metadata["option"] for f in fields(EmulatorOptions)}


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _argparse_type(name: str, spec: OptionSpec) -> Any:
    def convert(text: str) -> Any:
        try:
            value = spec.kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {spec.kind.__name__}, got {text!r}"
            ) from None
        try:
            spec.check(name, value)
        except OptionError as exc:
            raise argparse.ArgumentTypeError(str(exc).split(": ", 1)[1]) from None
        return value

    convert.__name__ = spec.kind.__name__  # argparse names the type in its messages
    return convert


def add_arguments(parser: argparse.ArgumentParser, *, suppress_defaults: bool = False) -> None:
    """Declare one flag per option of :class:`EmulatorOptions` on ``parser``.

    ``suppress_defaults``: flags not given leave the namespace alone (for a subcommand whose
    parent parser declared the same flags: the values given before the subcommand stay)."""
    groups: dict[str, argparse._MutuallyExclusiveGroup] = {}
    for f in fields(EmulatorOptions):
        spec: OptionSpec = f.metadata["option"]
        target: Any = parser
        if spec.group is not None:
            if spec.group not in groups:
                groups[spec.group] = parser.add_mutually_exclusive_group()
            target = groups[spec.group]
        default = argparse.SUPPRESS if suppress_defaults else f.default
        if spec.kind is bool:
            target.add_argument(_flag(f.name), action="store_true", default=default, help=spec.help)
            continue
        target.add_argument(
            _flag(f.name),
            type=_argparse_type(f.name, spec),
            default=default,
            choices=spec.choices,
            metavar=spec.metavar,
            help=spec.help,
        )
