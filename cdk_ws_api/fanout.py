"""``BroadcastFanout``: broadcasts to audiences beyond one invocation, on SQS and Lambda.

::

    fanout = BroadcastFanout(self, "Fanout", api=api, rate=5_000, reserved_concurrency=10)
    api.add_publisher(publisher, table="read")   # group=... reads the group index
    fanout.grant_publish(publisher)              # SendMessage + WS_API_FANOUT_QUEUE_URL

    # in the publisher:  lambda_runtime.fanout.publish({"text": "hi"}, group="room-1")

A publish cuts the audience into SQS messages of a bounded number of ids; the consumer
function (``lambda_runtime.fanout.handler``, from the runtime layer: its code is one inline
line, nothing to bundle) delivers each one with ``Connections.broadcast``, paced so that all
``reserved_concurrency`` consumers together make at most ``rate`` posts/s. It is wired with
``api.add_publisher(..., table="read_write")``: ``@connections`` POST, the management endpoint,
the table (gone ids are purged, progress markers make a redelivery skip the ids done).

A message that still fails after ``max_receive_count`` receives goes to the dead-letter queue;
``alarm`` fires when that queue holds any message. See ``docs/fanout.md`` for sizing.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from lambda_runtime import env
from lambda_runtime.fanout import ACCOUNT_RATE_LIMIT, DEFAULT_RATE

from ._nag import acknowledge
from .errors import ProblemCollector
from .handlers import add_runtime_layer
from .layer import MIN_PYTHON, RuntimeLayer, python_version
from .limits import is_unresolved

if TYPE_CHECKING:
    from aws_cdk import aws_apigatewayv2 as apigwv2

    from .api import WebSocketApi

__all__ = ["CONSUMER_HANDLER", "BroadcastFanout"]

#: The consumer's code: the handler itself is in the runtime layer.
CONSUMER_HANDLER = "from lambda_runtime.fanout import handler  # noqa: F401\n"
#: AWS's advice for an SQS event source: visibility timeout >= 6 x the function timeout.
_VISIBILITY_FACTOR = 6
#: SQS event sources' smallest ``MaximumConcurrency``.
_MIN_EVENT_SOURCE_CONCURRENCY = 2


def _integer(problems: ProblemCollector, prop: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        problems.add(prop, value, f"must be an integer from {low:,} to {high:,}")


def _seconds(problems: ProblemCollector, prop: str, value: Any, low: int, high: int) -> None:
    if not isinstance(value, Duration):
        problems.add(prop, value, "must be a Duration")
        return
    seconds = value.to_seconds()
    if not is_unresolved(seconds) and not (math.isfinite(seconds) and low <= seconds <= high):
        problems.add(prop, value.to_human_string(), f"must be {low:,} s to {high:,} s")


def _check_api(problems: ProblemCollector, api: Any) -> None:
    from .api import WebSocketApi

    if not isinstance(api, WebSocketApi):
        problems.add("api", api, "must be a cdk_ws_api.WebSocketApi")


def _check_runtime(problems: ProblemCollector, runtime: Any) -> None:
    version = python_version(runtime) if isinstance(runtime, lambda_.Runtime) else None
    if version is None or version < MIN_PYTHON:
        problems.add("runtime", getattr(runtime, "name", runtime), "must be Python >= 3.10")


class BroadcastFanout(Construct):
    """An SQS queue, its dead-letter queue and alarm, and the consumer delivering its messages.

    :param api: the API whose clients get the messages.
    :param stage: the stage to publish to. Default: - the API's first stage.
    :param rate: posts per second of all consumers together (API Gateway's 10,000
        requests/s is per account and shared with every route and API). 1-10,000.
        Default: 1,000 (``lambda_runtime.fanout.DEFAULT_RATE``).
    :param reserved_concurrency: consumers at most (the function's reserved concurrency and
        the event source's maximum concurrency); each paces to ``rate / reserved_concurrency``.
        2-1,000. Default: 5.
    :param batch_size: messages per consumer invocation. 1-10. Default: 1 (each message is up
        to 500 ids: one per invocation spreads a broadcast over every consumer).
    :param timeout: the consumer's timeout. 10 s - 15 min. Default: 1 minute.
    :param visibility_timeout: how long a received message stays hidden (a message whose
        consumer failed comes back after it). At least ``timeout``, at most 12 hours.
        Default: 6 x ``timeout`` (AWS's advice for Lambda event sources).
    :param memory_size: the consumer's memory (MB; CPU grows with it). 128-10,240.
        Default: 512.
    :param max_receive_count: receives of a message before it goes to the dead-letter queue.
        1-1,000. Default: 5.
    :param retention_period: how long a message waits on the queue (a broadcast older than
        this is stale). 1 minute - 14 days. Default: 1 day. The dead-letter queue keeps its
        messages 14 days.
    :param runtime: the consumer's Python runtime (3.10 or newer). Default: Python 3.14.
    :param log_retention: the consumer's log group retention. Default: one month.

    Attributes: ``queue``, ``dead_letter_queue``, ``consumer`` (the function), ``alarm``
    (dead-letter queue depth >= 1; add actions to it), ``queue_url_variable``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        api: WebSocketApi,
        stage: str | apigwv2.IWebSocketStage | None = None,
        rate: int = DEFAULT_RATE,
        reserved_concurrency: int = 5,
        batch_size: int = 1,
        timeout: Duration | None = None,
        visibility_timeout: Duration | None = None,
        memory_size: int = 512,
        max_receive_count: int = 5,
        retention_period: Duration | None = None,
        runtime: lambda_.Runtime | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
    ) -> None:
        super().__init__(scope, id)
        timeout = timeout if timeout is not None else Duration.minutes(1)
        if visibility_timeout is None and isinstance(timeout, Duration):
            visibility_timeout = Duration.seconds(timeout.to_seconds() * _VISIBILITY_FACTOR)
        retention_period = retention_period if retention_period is not None else Duration.days(1)
        runtime = runtime if runtime is not None else lambda_.Runtime.PYTHON_3_14
        problems = ProblemCollector(self.node.path)
        _check_api(problems, api)
        _integer(problems, "rate", rate, 1, ACCOUNT_RATE_LIMIT)
        _integer(problems, "reserved_concurrency", reserved_concurrency, 2, 1000)
        _integer(problems, "batch_size", batch_size, 1, 10)
        _integer(problems, "memory_size", memory_size, 128, 10240)
        _integer(problems, "max_receive_count", max_receive_count, 1, 1000)
        _seconds(problems, "timeout", timeout, 10, 900)
        _seconds(problems, "retention_period", retention_period, 60, 14 * 86400)
        if isinstance(timeout, Duration):  # else visibility_timeout has no default to check
            low = int(timeout.to_seconds())
            _seconds(problems, "visibility_timeout", visibility_timeout, low, 43200)
        _check_runtime(problems, runtime)
        problems.raise_if_any()
        self.queue_url_variable = env.FANOUT_QUEUE_URL
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetters",
            enforce_ssl=True,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            retention_period=Duration.days(14),
        )
        acknowledge(
            self.dead_letter_queue,
            "AwsSolutions-SQS3",
            "This is the dead-letter queue of the fan-out queue.",
        )
        self.queue = sqs.Queue(
            self,
            "Queue",
            enforce_ssl=True,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            retention_period=retention_period,
            visibility_timeout=visibility_timeout,
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letter_queue, max_receive_count=max_receive_count
            ),
        )
        self.consumer = self._consumer(
            runtime, timeout, memory_size, reserved_concurrency, rate, log_retention
        )
        self.consumer.add_event_source(
            event_sources.SqsEventSource(
                self.queue,
                batch_size=batch_size,
                report_batch_item_failures=True,
                max_concurrency=max(_MIN_EVENT_SOURCE_CONCURRENCY, reserved_concurrency),
            )
        )
        api.add_publisher(self.consumer, stage=stage, table="read_write")
        self.alarm = cloudwatch.Alarm(
            self,
            "DeadLettersAlarm",
            alarm_description="Fan-out messages failed every delivery and wait on the "
            "dead-letter queue",
            metric=self.dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(1), statistic="Maximum"
            ),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )

    def _consumer(
        self,
        runtime: lambda_.Runtime,
        timeout: Duration,
        memory_size: int,
        reserved_concurrency: int,
        rate: int,
        log_retention: logs.RetentionDays,
    ) -> lambda_.Function:
        log_group = logs.LogGroup(
            self, "ConsumerLogs", retention=log_retention, removal_policy=RemovalPolicy.RETAIN
        )
        # No AWS managed policy: AWSLambdaBasicExecutionRole may write to every log group.
        role = iam.Role(
            self,
            "ConsumerRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Execution role of the fan-out consumer",
        )
        log_group.grant(role, "logs:CreateLogStream", "logs:PutLogEvents")
        consumer = lambda_.Function(
            self,
            "Consumer",
            runtime=runtime,
            handler="index.handler",
            code=lambda_.Code.from_inline(CONSUMER_HANDLER),
            description="cdk-ws-api fan-out consumer: delivers queued broadcasts",
            timeout=timeout,
            memory_size=memory_size,
            reserved_concurrent_executions=reserved_concurrency,
            role=role,
            log_group=log_group,
            environment={
                env.FANOUT_RATE: str(rate),
                env.FANOUT_CONCURRENCY: str(reserved_concurrency),
            },
        )
        add_runtime_layer(self, consumer, RuntimeLayer.of(consumer))
        return consumer

    def grant_publish(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` publish: ``sqs:SendMessage`` on the queue, and, for a
        ``lambda_.Function``, ``WS_API_FANOUT_QUEUE_URL`` (what ``fanout.publish`` reads).
        Reading a group needs the table too: ``api.add_publisher(fn, table="read")``."""
        grant = self.queue.grant_send_messages(grantee)
        add_environment = getattr(grantee, "add_environment", None)
        if callable(add_environment):
            add_environment(env.FANOUT_QUEUE_URL, self.queue.queue_url)
        return grant
