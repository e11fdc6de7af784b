"""The limits AWS documents for the props the constructs pass on, and the checks that apply them.

Each limit cites the page it comes from. Values CloudFormation or API Gateway would refuse at
deploy time (after minutes of waiting) are refused here at synth time with a
``ConstructValidationError`` naming the prop. Unresolved tokens are never checked.

Numbers are checked before anything reaches jsii: a ``nan`` or ``inf`` handed to aws-cdk-lib
kills the jsii kernel process, and every later jsii call in the Python process fails with it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from aws_cdk import Token
from aws_cdk import aws_apigatewayv2 as apigwv2

from .errors import ProblemCollector

__all__ = [
    "MAX_API_NAME_LENGTH",
    "MAX_AUTHORIZER_NAME_LENGTH",
    "MAX_BURST_LIMIT",
    "MAX_DESCRIPTION_LENGTH",
    "MAX_STAGE_VARIABLES",
    "check_api_mapping_key",
    "check_domain_name",
    "check_dynamodb_attribute_name",
    "check_dynamodb_name",
    "check_length",
    "check_stage_variables",
    "check_throttle",
    "is_unresolved",
]

# ApiGatewayV2 API reference, CreateApi / CreateStage / CreateAuthorizer request bodies
# (https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/apis.html,
# .../apis-apiid-stages.html, .../apis-apiid-authorizers.html): Name is
# StringWithLengthBetween1And128, Description StringWithLengthBetween0And1024.
MAX_API_NAME_LENGTH = 128
MAX_AUTHORIZER_NAME_LENGTH = 128
MAX_DESCRIPTION_LENGTH = 1024

# API Gateway quotas (https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html):
# "Throttle quota per Region ... using a maximum bucket capacity of 5,000 requests. The burst
# quota is determined by the API Gateway service team ... It is not a quota that a customer can
# control or request changes to." A stage or route burst above it can never be reached.
MAX_BURST_LIMIT = 5000

# Stage variables: names "can have alphanumeric and underscore characters, and the values must
# match [A-Za-z0-9-._~:/?#&=,]+" (ApiGatewayV2 API reference, Stage.StageVariables,
# https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/apis-apiid-stages.html); 100
# variables per stage, keys up to 64 and values up to 512 characters (API Gateway quotas,
# https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html).
MAX_STAGE_VARIABLES = 100
_STAGE_VARIABLE_NAME = re.compile(r"^[A-Za-z0-9_]{1,64}$")
_STAGE_VARIABLE_VALUE = re.compile(r"^[A-Za-z0-9\-._~:/?#&=,]{1,512}$")

# API mapping key (ApiGatewayV2 API reference, CreateApiMapping: ApiMappingKey is a
# SelectionKey, https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/domainnames-domainname-apimappings.html;
# AWS::ApiGatewayV2::ApiMapping ApiMappingKey pattern in the CloudFormation resource schema).
_API_MAPPING_KEY = re.compile(r"^[A-Za-z0-9$\-_.+!*'()]{1,300}$")

# Domain names: 1-512 characters (ApiGatewayV2 CreateDomainName, StringWithLengthBetween1And512,
# https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/domainnames.html), made of DNS
# labels of 1-63 letters, digits and hyphens, not starting or ending with a hyphen, at most 253
# characters in all (RFC 1035 section 2.3.4, RFC 1123 section 2.1); a leading "*." wildcard is
# allowed (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-custom-domain-names.html).
_DNS_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_MAX_DOMAIN_LENGTH = 253

# DynamoDB naming rules (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html):
# table and index names are 3-255 characters of a-z, A-Z, 0-9, '_', '-', '.'; attribute names
# are at least 1 character, and at most 255 for key attributes of tables and indexes and for
# the TimeToLiveSpecification AttributeName (DynamoDB API reference, UpdateTimeToLive).
_DYNAMODB_NAME = re.compile(r"^[a-zA-Z0-9_.-]{3,255}$")
_MAX_KEY_ATTRIBUTE_LENGTH = 255


def is_unresolved(value: Any) -> bool:
    """True for a CDK token (checked by CloudFormation at deploy time, not here). A non-finite
    float is never a token (number tokens are finite doubles) and must not reach jsii."""
    if isinstance(value, float) and not math.isfinite(value):
        return False
    return isinstance(value, (str, int, float)) and Token.is_unresolved(value)


def check_length(
    problems: ProblemCollector, prop: str, value: str | None, *, minimum: int, maximum: int
) -> None:
    """``value`` (when given) is a string of ``minimum``-``maximum`` characters."""
    if value is None or is_unresolved(value):
        return
    if not isinstance(value, str):
        problems.add(prop, value, "must be a string")
    elif not minimum <= len(value) <= maximum:
        problems.add(
            prop,
            value if len(value) <= 80 else value[:77] + "...",
            f"must be {minimum}-{maximum} characters ({len(value)} given)",
        )


def _finite_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def check_throttle(problems: ProblemCollector, prop: str, throttle: Any) -> None:
    """``rate_limit`` is a finite number >= 0 (requests per second); ``burst_limit`` an integer
    from 0 to :data:`MAX_BURST_LIMIT`. Checked before jsii sees them: ``nan``/``inf`` would
    crash the jsii kernel."""
    if throttle is None:
        return
    if not isinstance(throttle, apigwv2.ThrottleSettings):
        problems.add(prop, throttle, "must be an aws_apigatewayv2.ThrottleSettings")
        return
    rate, burst = throttle.rate_limit, throttle.burst_limit
    if rate is not None and not is_unresolved(rate) and (not _finite_number(rate) or rate < 0):
        problems.add(f"{prop}.rate_limit", rate, "the rate limit must be a finite number >= 0")
    if burst is not None and not is_unresolved(burst):
        if not _finite_number(burst) or burst < 0 or int(burst) != burst:
            problems.add(f"{prop}.burst_limit", burst, "the burst limit must be an integer >= 0")
        elif burst > MAX_BURST_LIMIT:
            problems.add(
                f"{prop}.burst_limit",
                burst,
                f"the burst limit can be at most {MAX_BURST_LIMIT} (API Gateway's fixed "
                "account-level bucket capacity)",
            )


def check_stage_variables(problems: ProblemCollector, prop: str, variables: Any) -> None:
    """At most 100 variables; names ``[A-Za-z0-9_]{1,64}``; values
    ``[A-Za-z0-9-._~:/?#&=,]{1,512}``."""
    if not isinstance(variables, Mapping):
        problems.add(prop, variables, "must be a mapping of variable names to string values")
        return
    if len(variables) > MAX_STAGE_VARIABLES:
        problems.add(
            prop,
            f"{len(variables)} variables",
            f"a stage has at most {MAX_STAGE_VARIABLES} stage variables",
        )
    for name, value in variables.items():
        if not is_unresolved(name) and not (
            isinstance(name, str) and _STAGE_VARIABLE_NAME.match(name)
        ):
            problems.add(
                f"{prop} name",
                name,
                "a stage variable name is 1-64 letters, digits or '_'",
            )
        if not is_unresolved(value) and not (
            isinstance(value, str) and _STAGE_VARIABLE_VALUE.match(value)
        ):
            problems.add(
                f"{prop}[{name!r}]",
                value,
                "a stage variable value is 1-512 characters of letters, digits and -._~:/?#&=,",
            )


def check_api_mapping_key(problems: ProblemCollector, prop: str, key: Any) -> None:
    """``^[A-Za-z0-9$\\-_.+!*'()]{1,300}$`` (one path segment)."""
    if key is None or is_unresolved(key):
        return
    if not isinstance(key, str) or not _API_MAPPING_KEY.match(key):
        problems.add(
            prop,
            key,
            "an API mapping key is 1-300 characters of letters, digits and $-_.+!*'() "
            "(one path segment)",
        )


def check_domain_name(problems: ProblemCollector, prop: str, domain: Any) -> None:
    """A DNS name: labels of 1-63 letters, digits or inner hyphens, 253 characters at most,
    optionally starting with a ``*.`` wildcard."""
    if is_unresolved(domain):
        return
    labels = domain.split(".") if isinstance(domain, str) else []
    if labels[:1] == ["*"]:
        labels = labels[1:]
    if (
        not isinstance(domain, str)
        or len(domain) > _MAX_DOMAIN_LENGTH
        or len(labels) < 2
        or not all(_DNS_LABEL.match(label) for label in labels)
    ):
        problems.add(
            prop,
            domain,
            "a domain name is dot-separated labels of 1-63 letters, digits or inner hyphens "
            "(e.g. 'ws.example.com'), at most 253 characters",
        )


def check_dynamodb_name(problems: ProblemCollector, prop: str, name: Any) -> None:
    """A DynamoDB table or index name: ``[a-zA-Z0-9_.-]{3,255}``."""
    if name is None or is_unresolved(name):
        return
    if not isinstance(name, str) or not _DYNAMODB_NAME.match(name):
        problems.add(prop, name, "a DynamoDB table or index name is 3-255 of a-z A-Z 0-9 _ - .")


def check_dynamodb_attribute_name(problems: ProblemCollector, prop: str, name: Any) -> None:
    """A key or TTL attribute name: 1-255 characters."""
    if is_unresolved(name):
        return
    if not isinstance(name, str) or not 0 < len(name.encode()) <= _MAX_KEY_ATTRIBUTE_LENGTH:
        problems.add(
            prop,
            name,
            "must be a non-empty attribute name of at most 255 bytes (an empty TTL attribute "
            "would never expire an item)",
        )
