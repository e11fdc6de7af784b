"""The account-level CloudWatch role of API Gateway (``AWS::ApiGateway::Account``).

API Gateway needs it to write execution logs and access logs. It is one setting per account
and region, shared by every API there, so :class:`AccountCloudWatchRole` exists once per stack.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from constructs import Construct

from ._nag import acknowledge
from ._scope import stack_singleton

__all__ = ["AccountCloudWatchRole"]


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
        acknowledge(
            self.role,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AmazonAPIGatewayPushToCloudWatchLogs]",
            "API Gateway's account-level logging role needs this AWS managed policy "
            "(the same one aws-cdk's RestApi uses): it covers every log group API Gateway "
            "creates for execution and access logs in the account.",
        )

    @classmethod
    def of(cls, scope: Construct) -> AccountCloudWatchRole:
        """The stack's shared instance, created on first use."""
        return stack_singleton(cls, scope, cls.CONSTRUCT_ID)
