"""The account-level CloudWatch role of API Gateway (``AWS::ApiGateway::Account``).

API Gateway needs it to write execution logs and access logs. It is one setting per account
and region, shared by every API there, so :class:`AccountCloudWatchRole` exists once per stack.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from aws_cdk import Annotations, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from constructs import Construct, IConstruct

from ._nag import acknowledge
from ._scope import stack_singleton

if TYPE_CHECKING:
    from .stages import StageOptions

__all__ = ["AccountCloudWatchRole", "warn_without_cloud_watch_role"]

#: What CloudFormation answers when a stage logs and the account has no CloudWatch role.
MISSING_ROLE_ERROR = "CloudWatch Logs role ARN must be set in account settings to enable logging"


class AccountCloudWatchRole(Construct):
    """The IAM role API Gateway uses to write logs, set as the account's CloudWatch role.

    ``AWS::ApiGateway::Account`` is a per-account, per-region setting: deploying it replaces
    the role any other stack set, and every API Gateway API (REST or WebSocket) in the region
    uses it. Both resources are retained on stack deletion (as aws-cdk's ``RestApi`` does), so
    other APIs keep logging. Use :meth:`of` to share one per stack.
    """

    CONSTRUCT_ID = "CdkWsApiCloudWatchRole"

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name(
                    "service-role/AmazonAPIGatewayPushToCloudWatchLogs"
                )
            ],
            description="API Gateway account-level role for CloudWatch Logs (cdk-ws-api)",
        )
        self.role.apply_removal_policy(RemovalPolicy.RETAIN)
        self.account = apigw.CfnAccount(self, "Account", cloud_watch_role_arn=self.role.role_arn)
        self.account.apply_removal_policy(RemovalPolicy.RETAIN)
        self._depends_on_api = False
        acknowledge(
            self.role,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AmazonAPIGatewayPushToCloudWatchLogs]",
            "API Gateway's account-level logging role needs this AWS managed policy "
            "(the same one aws-cdk's RestApi uses): it covers every log group API Gateway "
            "creates for execution and access logs in the account.",
        )

    def depend_on_first_api(self, api: IConstruct) -> None:
        """Make ``AWS::ApiGateway::Account`` depend on ``api`` (the first API of the stack; later
        calls do nothing). In an account and region where API Gateway was never used, setting
        the account's role before any API Gateway resource exists fails on first deploy
        (aws-cdk #2194; the ``AWS::ApiGateway::Account`` documentation asks for this
        dependency), so aws-cdk's ``RestApi`` does the same."""
        if not self._depends_on_api:
            self.account.node.add_dependency(api)
            self._depends_on_api = True

    @classmethod
    def of(cls, scope: Construct) -> AccountCloudWatchRole:
        """The stack's shared instance, created on first use."""
        return stack_singleton(cls, scope, cls.CONSTRUCT_ID)


def warn_without_cloud_watch_role(scope: Construct, stages: Sequence[StageOptions]) -> None:
    """With ``cloud_watch_role=False``, stages that log need a role the account already has: say
    so at synth time, before CloudFormation fails the stage on deploy."""
    logging = [
        s.stage_name for s in stages if s.access_logging or s.execution_logging_level is not None
    ]
    if logging:
        Annotations.of(scope).add_warning_v2(
            "cdk-ws-api:no-cloud-watch-role",
            f"cloud_watch_role=False and stages {logging} write logs: the account must already "
            "have an API Gateway CloudWatch role (AWS::ApiGateway::Account) in this region, or "
            f"CloudFormation fails each stage with '{MISSING_ROLE_ERROR}' "
            "(BadRequestException)",
        )
