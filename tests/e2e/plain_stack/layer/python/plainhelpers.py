"""A helper shipped in a Lambda layer (``python/``), imported by the plain stack's handlers."""

from __future__ import annotations

import os

import boto3

__all__ = ["audit", "management_client", "table"]

_resource = None


def table(env_name: str):  # type: ignore[no-untyped-def]
    global _resource
    if _resource is None:
        _resource = boto3.resource("dynamodb")
    return _resource.Table(os.environ[env_name])


def audit(pk: str, **attributes: object) -> None:
    table("AUDIT").put_item(Item={"pk": pk, **attributes})


def management_client(endpoint_url: str):  # type: ignore[no-untyped-def]
    return boto3.client("apigatewaymanagementapi", endpoint_url=endpoint_url)
