"""A custom domain for one stage of a :class:`~cdk_ws_api.WebSocketApi`.

A regional ``AWS::ApiGatewayV2::DomainName`` (TLS 1.2) and an ``AWS::ApiGatewayV2::ApiMapping``
to the stage, both aws-cdk-lib L2s. DNS is left to the caller.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_certificatemanager as acm
from constructs import Construct

from .errors import ProblemCollector
from .limits import check_api_mapping_key, check_domain_name

__all__ = ["CustomDomainOptions", "check_custom_domain", "custom_domain_url", "map_custom_domain"]


@dataclass(frozen=True, kw_only=True)
class CustomDomainOptions:
    """A custom domain (``AWS::ApiGatewayV2::DomainName``, regional, TLS 1.2) mapped to a stage.

    The mapped stage's output URLs and the handlers' ``WS_API_MANAGEMENT_ENDPOINT``
    (``https://{domain_name}[/{mapping_key}]``) follow the domain. Point the domain's DNS at the
    ``domain_name`` attribute's ``regional_domain_name`` yourself.

    :param domain_name: e.g. ``"ws.example.com"``.
    :param certificate: an ACM certificate for ``domain_name`` in the stack's region.
    :param mapping_key: API mapping key (one path segment). Default: - none (the domain root).
    :param stage_name: the stage to map. Default: - the first stage.
    """

    domain_name: str
    certificate: acm.ICertificate
    mapping_key: str | None = None
    stage_name: str | None = None


def check_custom_domain(
    problems: ProblemCollector, domain: CustomDomainOptions, stage_names: list[str]
) -> None:
    """``stage_name`` must be one of the API's stages; ``domain_name`` a DNS name;
    ``mapping_key`` an API mapping key (rules and sources in ``limits.py``)."""
    if domain.stage_name is not None and domain.stage_name not in stage_names:
        problems.add(
            "custom_domain.stage_name",
            domain.stage_name,
            f"must be one of the API's stages {stage_names}",
        )
    check_domain_name(problems, "custom_domain.domain_name", domain.domain_name)
    check_api_mapping_key(problems, "custom_domain.mapping_key", domain.mapping_key)


def custom_domain_url(domain: CustomDomainOptions, scheme: str) -> str:
    """``{scheme}://{domain_name}[/{mapping_key}]``: the mapped stage's URL on the domain."""
    path = f"/{domain.mapping_key}" if domain.mapping_key else ""
    return f"{scheme}://{domain.domain_name}{path}"


def map_custom_domain(
    scope: Construct,
    domain: CustomDomainOptions,
    *,
    api: apigwv2.IWebSocketApi,
    stage: apigwv2.IWebSocketStage,
) -> tuple[apigwv2.DomainName, apigwv2.ApiMapping]:
    """Create the domain (id ``DomainName``) and its mapping to ``stage`` (id ``ApiMapping``)."""
    domain_name = apigwv2.DomainName(
        scope,
        "DomainName",
        domain_name=domain.domain_name,
        certificate=domain.certificate,
        endpoint_type=apigwv2.EndpointType.REGIONAL,
        security_policy=apigwv2.SecurityPolicy.TLS_1_2,
    )
    api_mapping = apigwv2.ApiMapping(
        scope,
        "ApiMapping",
        api=api,
        domain_name=domain_name,
        stage=stage,
        api_mapping_key=domain.mapping_key,
    )
    return domain_name, api_mapping
