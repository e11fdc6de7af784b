"""The answer to an AWS call for a service the emulator does not provide (pure, no I/O).

When the template has no DynamoDB table no moto server runs, and the workers'
``AWS_ENDPOINT_URL`` points at ``http://HOST:PORT/-no-local-service-`` on the emulator's own
port: every request there gets a 501 ``NotImplemented`` error naming the service (read from
the SigV4 credential scope), so the handler's boto3 call fails at once with a clear message
and nothing leaves the machine. 501 is not one of the statuses botocore retries (500, 502,
503, 504), so the failure is not delayed by retries.

The error is rendered in the shape the SDK's protocol parses: AWS JSON (``X-Amz-Target``),
query (form-encoded body: ``<ErrorResponse>``), REST-XML (S3, Route 53, CloudFront:
``<Error>``) and REST-JSON otherwise (``x-amzn-ErrorType`` header plus a JSON body).
"""

from __future__ import annotations

import json
from xml.sax.saxutils import escape

from .httpparse import HttpRequest
from .management import HttpResponse

__all__ = ["ERROR_CODE", "service_of", "unemulated_service_response"]

ERROR_CODE = "NotImplemented"
_CREDENTIAL = "Credential="
_REST_XML = frozenset({"s3", "s3control", "route53", "cloudfront"})


def service_of(request: HttpRequest) -> str:
    """The signing name of the service called (``sqs``, ``s3``...), ``unknown`` if unsigned.

    Read from the credential scope ``Credential=KEY/YYYYMMDD/REGION/SERVICE/aws4_request``
    with one ``find`` and one ``split``: linear in the header's length. (A regex searched
    over the header was quadratic: 2 s for a 65 KB ``Authorization``, stalling every client.)
    """
    authorization = request.header("Authorization") or ""
    start = authorization.find(_CREDENTIAL)
    if start < 0:
        return "unknown"
    scope = authorization[start + len(_CREDENTIAL) :].split(",", 1)[0].split(None, 1)
    parts = scope[0].split("/") if scope else []
    if (
        len(parts) == 5
        and parts[4] == "aws4_request"
        and len(parts[1]) == 8
        and parts[1].isascii()
        and parts[1].isdigit()
        and all(parts[:4])
    ):
        return parts[3]
    return "unknown"


def unemulated_service_response(request: HttpRequest) -> HttpResponse:
    """A 501 ``NotImplemented`` error for ``request``, in its protocol's error shape."""
    service = service_of(request)
    message = (
        f"cdk-ws-api local does not emulate the AWS service '{service}': only DynamoDB "
        "(when the stack has a table) and the @connections API are local, and no call "
        "leaves the machine"
    )
    content_type = (request.header("Content-Type") or "").lower()
    if request.header("X-Amz-Target") is not None:
        body = json.dumps({"__type": ERROR_CODE, "message": message})
        return HttpResponse(
            501,
            body.encode(),
            {"Content-Type": "application/x-amz-json-1.0", "x-amzn-ErrorType": ERROR_CODE},
        )
    error = f"<Code>{ERROR_CODE}</Code><Message>{escape(message)}</Message>"
    if content_type.startswith("application/x-www-form-urlencoded"):
        body = (
            f"<ErrorResponse><Error><Type>Sender</Type>{error}</Error>"
            "<RequestId>local</RequestId></ErrorResponse>"
        )
        return HttpResponse(501, body.encode(), {"Content-Type": "text/xml"})
    if service in _REST_XML:
        body = f"<Error>{error}<RequestId>local</RequestId></Error>"
        return HttpResponse(501, body.encode(), {"Content-Type": "application/xml"})
    body = json.dumps({"message": message})
    return HttpResponse(
        501, body.encode(), {"Content-Type": "application/json", "x-amzn-ErrorType": ERROR_CODE}
    )
