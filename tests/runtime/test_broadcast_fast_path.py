"""The fast path of ``Connections.broadcast`` (``lambda_runtime._signed``): SigV4 signatures
identical to botocore's, session tokens, id encoding, the same outcomes as the boto3 path for
every answer, and the fall back to the client for what it cannot do."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import boto3
import pytest

from lambda_runtime import (
    BroadcastResult,
    Connections,
    GoneError,
    ManagementApiError,
    _aws,
    _signed,
    env,
)

from .apigw_stub import ApiGatewayStub, Recorded

FIXED = datetime(2025, 1, 27, 16, 39, 47, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def _fresh_clients() -> Iterator[None]:
    """Clients and pools made with this test's credentials, forgotten after it."""
    _aws.clear_client_cache()
    yield
    _aws.clear_client_cache()


def botocore_authorization(
    url: str,
    payload: bytes,
    *,
    access_key: str,
    secret: str,
    token: str | None,
    region: str,
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, str]:
    """The headers botocore's own SigV4 signer adds to a POST of ``payload`` at FIXED."""
    import botocore.auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    fixed = FIXED.replace(tzinfo=None)
    if hasattr(botocore.auth, "get_current_datetime"):  # botocore >= 1.35
        monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: fixed)
    else:  # older botocore calls datetime.datetime.utcnow() in botocore.auth
        import datetime as real_datetime
        import types

        class FixedDatetime(real_datetime.datetime):
            @classmethod
            def utcnow(cls) -> real_datetime.datetime:  # type: ignore[override]
                return fixed

        shim = types.SimpleNamespace(datetime=FixedDatetime)
        monkeypatch.setattr(botocore.auth, "datetime", shim)
    request = AWSRequest(method="POST", url=url, data=payload)
    signer = botocore.auth.SigV4Auth(Credentials(access_key, secret, token), "execute-api", region)
    signer.add_auth(request)
    return dict(request.headers.items())


def assert_signed_by(
    recorded: Recorded,
    *,
    access_key: str = "testing",
    secret: str = "testing",
    token: str | None = "testing",
    region: str = "us-east-1",
) -> None:
    """Verify a request the stub received as API Gateway would: recompute its SigV4 signature
    with botocore from the raw path, the signed headers and the body."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    headers = recorded.headers
    authorization = headers["authorization"]
    match = re.fullmatch(
        r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/execute-api/aws4_request, "
        r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})",
        authorization,
    )
    assert match, authorization
    key, day, scope_region, names, signature = match.groups()
    assert (key, scope_region, day) == (access_key, region, headers["x-amz-date"][:8])
    signed = names.split(";")
    assert {"host", "x-amz-date"} <= set(signed)
    if token is not None:
        assert "x-amz-security-token" in signed
        assert headers["x-amz-security-token"] == token
    else:
        assert "x-amz-security-token" not in headers
    request = AWSRequest(
        method=recorded.method,
        url=f"http://{headers['host']}{recorded.path}",
        data=recorded.body,
        headers={name: headers[name] for name in signed},
    )
    request.context["timestamp"] = headers["x-amz-date"]
    signer = SigV4Auth(Credentials(access_key, secret, token), "execute-api", region)
    canonical = signer.canonical_request(request)
    assert signature == signer.signature(signer.string_to_sign(request, canonical), request)


def outcome(result: BroadcastResult) -> tuple[Any, ...]:
    """Everything a caller can see of a result (errors by type, text, status, code, id; not
    ``__cause__``: the boto3 path chains botocore's exception, the fast path has none)."""
    failed = {
        cid: (
            type(error),
            str(error),
            getattr(error, "status", None),
            getattr(error, "code", None),
            getattr(error, "connection_id", None),
        )
        for cid, error in result.failed.items()
    }
    return (result.sent, result.gone, failed, result.ok)


def boto3_path_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_signed, "poster_for", lambda client, max_workers: None)


# --- signatures ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://abc123defg.execute-api.eu-west-3.amazonaws.com/prod",
        "http://127.0.0.1:8080/test",
        "https://WS.Example.com:443/v1/",
        "https://ws.example.com",
    ],
)
@pytest.mark.parametrize("connection_id", ["L0SM9cOFvHcCIhw=", "a+b/c=", "sp ace é", "..", "~x"])
@pytest.mark.parametrize("token", ["FwoGZXIvYXdzEJr//token+with/chars=", None])
def test_signature_is_byte_identical_to_botocores(
    endpoint: str, connection_id: str, token: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a poster with fixed credentials and a payload
    payload = '{"text":"héllo"}'.encode()
    poster = _signed.Poster(
        endpoint,
        region="eu-west-3",
        access_key="AKIDEXAMPLE",
        secret_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        token=token,
    )
    poster.set_payload(payload)
    path = poster.path_for(connection_id)
    # WHEN it signs a POST at a fixed time, and botocore signs the same request at that time
    ours = poster.headers(path, now=FIXED.timestamp())
    origin = endpoint.split("://")[0] + "://" + endpoint.split("://")[1].split("/")[0]
    theirs = botocore_authorization(
        origin + path,
        payload,
        access_key="AKIDEXAMPLE",
        secret="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        token=token,
        region="eu-west-3",
        monkeypatch=monkeypatch,
    )
    # THEN the signed headers are byte-identical
    assert ours["Authorization"] == theirs["Authorization"]
    assert ours["X-Amz-Date"] == theirs["X-Amz-Date"] == "20250127T163947Z"
    assert ours.get("X-Amz-Security-Token") == theirs.get("X-Amz-Security-Token") == token
    assert ours["Host"] == _signed.host_header(endpoint)


def test_signing_key_is_derived_once_per_day() -> None:
    poster = _signed.Poster(
        "http://127.0.0.1:1/s", region="us-east-1", access_key="a", secret_key="s"
    )
    poster.headers("/s/@connections/x", now=FIXED.timestamp())
    first = poster._keys
    poster.headers("/s/@connections/y", now=FIXED.timestamp() + 3600)
    assert poster._keys is first
    poster.headers("/s/@connections/y", now=FIXED.timestamp() + 86400)
    assert poster._keys is not first and poster._keys is not None
    assert poster._keys[0] == "20250128"


def test_broadcast_requests_carry_a_valid_signature_and_the_session_token(
    apigw: ApiGatewayStub,
) -> None:
    # GIVEN connections with ids botocore has to encode (the environment's token is "testing")
    ids = ["a=", "b+c/d=", "é e"]
    apigw.known.update(ids)
    # WHEN broadcasting through the fast path
    result = Connections(apigw.endpoint_url).broadcast(ids, {"n": 1}, max_workers=2)
    # THEN every request the stub received verifies with the fake credentials, token included
    assert result.sent == ids
    assert len(apigw.requests) == 3
    for recorded in apigw.requests:
        assert_signed_by(recorded, token="testing")
        assert recorded.body == b'{"n":1}'


def test_without_session_token_none_is_sent(
    apigw: ApiGatewayStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_SESSION_TOKEN")
    apigw.known.add("a=")
    result = Connections(apigw.endpoint_url).broadcast(["a="], "x")
    assert result.sent == ["a="]
    assert_signed_by(apigw.requests[0], token=None)


def test_credentials_come_from_the_given_clients_session(apigw: ApiGatewayStub) -> None:
    # GIVEN a client of a session with its own credentials (not the environment's)
    session = boto3.session.Session(
        aws_access_key_id="AKIDOTHER",
        aws_secret_access_key="other-secret",
        aws_session_token="other-token",
        region_name="eu-central-1",
    )
    client = session.client("apigatewaymanagementapi", endpoint_url=apigw.endpoint_url)
    apigw.known.add("a=")
    # WHEN broadcasting with it
    result = Connections(client=client).broadcast(["a="], "x")
    # THEN the fast path signed with that session's credentials and region
    assert result.sent == ["a="]
    assert_signed_by(
        apigw.requests[0],
        access_key="AKIDOTHER",
        secret="other-secret",
        token="other-token",
        region="eu-central-1",
    )


def test_ids_are_encoded_as_botocore_encodes_them(apigw: ApiGatewayStub) -> None:
    # GIVEN ids with characters a URI label has to encode
    ids = ["a=", "b+c/d=", "sp ace", "é~-._"]
    apigw.known.update(ids)
    connections = Connections(apigw.endpoint_url)
    # WHEN each is sent through boto3, then broadcast through the fast path
    for cid in ids:
        connections.send(cid, "x")
    boto3_paths = [r.path for r in apigw.requests]
    apigw.requests.clear()
    connections.broadcast(ids, "x", max_workers=1)
    # THEN the request paths are the same, e.g. "=" as %3D and "/" as %2F
    assert [r.path for r in apigw.requests] == boto3_paths
    assert boto3_paths[:2] == ["/test/@connections/a%3D", "/test/@connections/b%2Bc%2Fd%3D"]


def test_the_fast_path_is_used_for_the_default_client(
    apigw: ApiGatewayStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    posted: list[str] = []
    original = _signed.Poster.post_many

    def spy(
        self: _signed.Poster, connection_ids: list[str], concurrency: int
    ) -> list[Exception | None]:
        posted.extend(connection_ids)
        return original(self, connection_ids, concurrency)

    monkeypatch.setattr(_signed.Poster, "post_many", spy)
    apigw.known.update({"a=", "b="})
    result = Connections(apigw.endpoint_url).broadcast(["a=", "b="], "x")
    assert result.sent == ["a=", "b="]
    assert sorted(posted) == ["a=", "b="]


def test_the_fast_path_reaches_moto_without_the_stage_path(moto_url: str) -> None:
    # moto's @connections is served at the root: the endpoint's (empty) path is honoured
    from moto.apigatewaymanagementapi.models import apigatewaymanagementapi_backends

    backend = apigatewaymanagementapi_backends["123456789012"]["us-east-1"]
    backend.connections.clear()
    result = Connections(moto_url).broadcast(["m1=", "m2="], b"bytes")
    assert result.sent == ["m1=", "m2="]
    assert backend.connections["m1%3D"].data == b"bytes"
    backend.connections.clear()


def test_requests_are_built_and_signed_when_sent_not_all_up_front(
    apigw: ApiGatewayStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a large payload for many connections (built all up front, 300 x 100 KiB requests
    # would be held at once, and a long broadcast's first signatures could expire)
    ids = [f"c{i}=" for i in range(300)]
    apigw.known.update(ids)
    built: list[str] = []
    original_request = _signed.Poster.request

    def counting(self: _signed.Poster, connection_id: str) -> bytes:
        built.append(connection_id)
        return original_request(self, connection_id)

    monkeypatch.setattr(_signed.Poster, "request", counting)
    built_when_received: list[int] = []
    original_answer = apigw._answer

    def observing(*args: Any, **kwargs: Any) -> Any:
        built_when_received.append(len(built))
        return original_answer(*args, **kwargs)

    monkeypatch.setattr(apigw, "_answer", observing)
    # WHEN broadcasting with 4 requests in flight
    result = Connections(apigw.endpoint_url).broadcast(ids, "x" * 100_000, max_workers=4)
    # THEN everything was delivered, each request built once...
    assert result.sent == ids and sorted(built) == sorted(ids)
    # ...and when the server got the first request, only the ones in flight had been built
    assert built_when_received[0] <= 4


# --- the same outcomes as the boto3 path --------------------------------------------------


@pytest.mark.parametrize("status", [410, 403, 413, 429, 500])
def test_error_answers_give_the_same_result_as_the_boto3_path(
    apigw: ApiGatewayStub, monkeypatch: pytest.MonkeyPatch, status: int
) -> None:
    def run() -> BroadcastResult:
        apigw.reset()
        apigw.known.update({"ok=", "bad="})
        apigw.script("bad=", *[status] * 3)
        return Connections(apigw.endpoint_url).broadcast(
            ["ok=", "bad="], "x", max_attempts=2, backoff=0.001
        )

    fast = run()
    fast_requests = len(apigw.requests_for("bad="))
    boto3_path_only(monkeypatch)
    slow = run()
    assert outcome(fast) == outcome(slow)
    assert fast_requests == len(apigw.requests_for("bad=")) == (2 if status == 429 else 1)
    if status == 410:
        assert fast.gone == ["bad="]
    else:
        error = fast.failed["bad="]
        assert (error.status, error.connection_id) == (status, "bad=")  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("status", "headers", "body"),
    [
        (502, {}, b"<html>bad gateway</html>"),
        (500, {}, b""),
        (410, {}, b'{"__type":"com.amazon#GoneException","message":"gone"}'),
        (403, {"x-amzn-errortype": "ForbiddenException:http://x/"}, b'{"Message":"no"}'),
        (429, {}, b'{"code":"LimitExceededException"}'),
        (504, {}, b"  "),
        (400, {}, b"not json"),
    ],
)
def test_error_answers_are_parsed_like_botocores_rest_json_parser(
    status: int, headers: dict[str, str], body: bytes
) -> None:
    from botocore.parsers import RestJSONParser

    from lambda_runtime.connections import _translate

    theirs = RestJSONParser().parse(
        {"status_code": status, "headers": headers, "body": body},
        None,  # type: ignore[arg-type]
    )
    code, message = _signed.answer_code_and_message(status, headers, body)
    assert {"Code": code, "Message": message} == theirs["Error"]
    # AND the fast path's typed error is the one the boto3 path makes of botocore's error
    ours = _signed._answer_error(status, headers, body, "a=")
    from botocore.exceptions import ClientError

    theirs_translated = _translate(ClientError(theirs, "PostToConnection"), "a=")  # type: ignore[arg-type]
    assert isinstance(ours, ManagementApiError)
    assert (type(ours), ours.status, ours.code, str(ours)) == (
        type(theirs_translated),
        theirs_translated.status,  # type: ignore[attr-defined]
        theirs_translated.code,  # type: ignore[attr-defined]
        str(theirs_translated),
    )
    assert (ours.status, ours.code) == (status, theirs["Error"]["Code"])
    if status == 410:
        assert type(ours) is GoneError


def test_refused_connection_gives_the_same_result_as_the_boto3_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    endpoint = f"http://127.0.0.1:{port}/test"
    fast = Connections(endpoint).broadcast(["a=", "b="], "x")
    boto3_path_only(monkeypatch)
    slow = Connections(endpoint).broadcast(["a=", "b="], "x")
    assert outcome(fast) == outcome(slow)
    error = fast.failed["a="]
    assert type(error) is ManagementApiError
    assert (error.status, error.code) == (None, "EndpointConnectionError")
    assert f"127.0.0.1:{port}/test/@connections/a%3D" in str(error)


def test_the_pool_survives_dropped_keep_alive_connections(apigw: ApiGatewayStub) -> None:
    # GIVEN a broadcast that left kept-alive connections in the pool
    apigw.known.add("a=")
    connections = Connections(apigw.endpoint_url)
    assert connections.broadcast(["a="], "x").sent == ["a="]
    (origin,) = _signed._pools.values()
    idle = origin.take(100)
    assert idle
    # WHEN they are dropped (as a server closes idle connections)
    for sock in idle:
        sock.shutdown(socket.SHUT_RDWR)
    origin.give(idle)
    # THEN the next broadcast reconnects instead of failing, and posts once
    apigw.requests.clear()
    assert connections.broadcast(["a="], "y").sent == ["a="]
    assert len(apigw.requests) == 1


# --- falling back to the client -----------------------------------------------------------


class RecordingClient:
    """Not a botocore client: something with ``post_to_connection`` (a wrapper, a fake)."""

    def __init__(self) -> None:
        self.posted: list[tuple[str, bytes]] = []

    def post_to_connection(self, *, ConnectionId: str, Data: bytes) -> None:
        self.posted.append((ConnectionId, Data))


def test_a_client_that_is_not_botocores_is_used_as_it_is() -> None:
    client = RecordingClient()
    result = Connections("http://127.0.0.1:1/test", client=client).broadcast(["a=", "b="], "x")
    assert result.sent == ["a=", "b="]
    assert sorted(client.posted) == [("a=", b"x"), ("b=", b"x")]
    assert _signed.poster_for(client, 4) is None


def test_no_credentials_means_no_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    client = boto3.session.Session().client(
        "apigatewaymanagementapi", endpoint_url="http://127.0.0.1:1/test"
    )
    assert _signed.poster_for(client, 4) is None


def test_a_proxy_means_no_fast_path() -> None:
    from botocore.config import Config

    client = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url="https://abc.execute-api.us-east-1.amazonaws.com/prod",
        config=Config(proxies={"https": "http://proxy.internal:3128"}),
    )
    assert _signed.poster_for(client, 4) is None


def test_https_endpoints_get_a_verifying_origin() -> None:
    import ssl

    client = Connections("https://abc.execute-api.eu-west-3.amazonaws.com/prod").client
    poster = _signed.poster_for(client, 7)
    assert poster is not None
    origin = poster._origin_pool
    context = origin.ssl_context
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.cert_store_stats()["x509_ca"] > 0  # botocore's CA bundle is loaded
    host = "abc.execute-api.eu-west-3.amazonaws.com"
    assert (origin.host, origin.port, origin.max_idle >= 7) == (host, 443, True)
    assert poster.region == "eu-west-3" and poster.service == "execute-api"
    assert poster.path_for("a=") == "/prod/@connections/a%3D"
    assert _signed.poster_for(client, 7)._origin_pool is origin  # type: ignore[union-attr]


def test_broadcast_over_tls_verifies_the_server_certificate(tmp_path: Any) -> None:
    # GIVEN an HTTPS stand-in of API Gateway with a certificate for 127.0.0.1
    from .tls import self_signed_certificate

    cert, key = self_signed_certificate(tmp_path)
    import ssl

    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    stub = ApiGatewayStub(stage="tls", ssl_context=server_context).start()
    try:
        stub.known.update({"a=", "b=", "c="})
        # WHEN broadcasting with a client that trusts that certificate (botocore's verify=path)
        trusting = boto3.client(
            "apigatewaymanagementapi", endpoint_url=stub.endpoint_url, verify=str(cert)
        )
        result = Connections(client=trusting).broadcast(["a=", "b=", "c=", "gone="], "x")
        # THEN the requests went over TLS, signed, and the answers were read
        assert (result.sent, result.gone) == (["a=", "b=", "c="], ["gone="])
        assert len(stub.requests) == 4
        assert_signed_by(stub.requests[0])
        # AND a client that does not trust it fails every id with the SSL error, as boto3 does
        untrusting = boto3.client("apigatewaymanagementapi", endpoint_url=stub.endpoint_url)
        failed = Connections(client=untrusting).broadcast(["a=", "b="], "x")
        assert failed.sent == [] and set(failed.failed) == {"a=", "b="}
        error = failed.failed["a="]
        assert isinstance(error, ManagementApiError) and error.code == "SSLError"
        try:
            untrusting.post_to_connection(ConnectionId="a=", Data=b"x")
        except Exception as exc:  # what the boto3 path maps to the same code
            assert type(exc).__name__ == "SSLError"
        else:  # pragma: no cover - the certificate is not trusted
            raise AssertionError("boto3 accepted an untrusted certificate")
        # AND verify=False skips verification, as in botocore
        lax = boto3.client("apigatewaymanagementapi", endpoint_url=stub.endpoint_url, verify=False)
        assert Connections(client=lax).broadcast(["a="], "x").sent == ["a="]
    finally:
        stub.stop()


# --- calls someone intercepts go through the client ---------------------------------------


def _no_dns(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record (and refuse) every lookup of a name other than 127.0.0.1: nothing may try to
    reach AWS."""
    looked_up: list[str] = []
    real = socket.getaddrinfo

    def refuse(host: str, *args: Any, **kwargs: Any) -> Any:
        if host == "127.0.0.1":
            return real(host, *args, **kwargs)
        looked_up.append(host)
        raise socket.gaierror(socket.EAI_NONAME, "lookups are refused in this test")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return looked_up


AWS_ENDPOINT = "https://abc123defg.execute-api.us-east-1.amazonaws.com/prod"


def test_broadcast_under_moto_mock_aws_stays_in_the_mock(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN moto's in-process mock (it answers every botocore call at "before-send")
    from moto import mock_aws
    from moto.apigatewaymanagementapi.models import apigatewaymanagementapi_backends

    looked_up = _no_dns(monkeypatch)
    with mock_aws():
        client = boto3.client("apigatewaymanagementapi", endpoint_url=AWS_ENDPOINT)
        assert _signed.poster_for(client, 4) is None
        # WHEN broadcasting with a client of the mocked session
        result = Connections(client=client).broadcast(["a=", "b="], "hi")
        backend = apigatewaymanagementapi_backends["123456789012"]["us-east-1"]
        delivered = {cid: c.data for cid, c in backend.connections.items()}
    # THEN the mock received the posts and nothing tried to reach AWS
    assert result.sent == ["a=", "b="]
    assert delivered == {"a%3D": b"hi", "b%3D": b"hi"}
    assert looked_up == []


def test_broadcast_with_a_botocore_stubber_uses_the_stubbed_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from botocore.stub import Stubber

    looked_up = _no_dns(monkeypatch)
    client = boto3.client("apigatewaymanagementapi", endpoint_url=AWS_ENDPOINT)
    with Stubber(client) as stubber:
        stubber.add_response("post_to_connection", {}, {"ConnectionId": "a=", "Data": b"x"})
        stubber.add_client_error(
            "post_to_connection", "GoneException", "gone", 410, {"ConnectionId": "b=", "Data": b"x"}
        )
        result = Connections(client=client).broadcast(["a=", "b="], "x", max_workers=1)
        stubber.assert_no_pending_responses()
    assert (result.sent, result.gone, result.failed) == (["a="], ["b="], {})
    assert looked_up == []


def test_a_before_send_hook_of_the_caller_sees_every_post(
    apigw: ApiGatewayStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a client with a hook of the caller's on "before-send" (tracing, recording...)
    apigw.known.update({"a=", "b="})
    seen: list[str] = []
    client = boto3.client("apigatewaymanagementapi", endpoint_url=apigw.endpoint_url)
    client.meta.events.register(
        "before-send.apigatewaymanagementapi", lambda request, **_: seen.append(request.url)
    )
    # WHEN broadcasting with it
    result = Connections(client=client).broadcast(["a=", "b="], "x", max_workers=1)
    # THEN every post went through the client, so the hook saw it
    assert result.sent == ["a=", "b="]
    assert [url.rsplit("/", 1)[1] for url in seen] == ["a%3D", "b%3D"]


def test_a_hook_that_only_moves_urls_is_followed_by_the_fast_path(
    apigw: ApiGatewayStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the local emulator's kind of hook: it moves an AWS URL to a local base URL and says
    # so through the agreed attribute
    looked_up = _no_dns(monkeypatch)
    local = apigw.endpoint_url.rsplit("/", 1)[0]

    def moved(url: str) -> str:
        return url.replace("https://abc123defg.execute-api.us-east-1.amazonaws.com", local)

    def rewrite(request: Any, **_: Any) -> None:
        request.url = moved(request.url)

    setattr(rewrite, env.REWRITE_URL_ATTRIBUTE, moved)
    client = boto3.client(
        "apigatewaymanagementapi", endpoint_url=AWS_ENDPOINT.replace("/prod", "/test")
    )
    client.meta.events.register("before-send.apigatewaymanagementapi", rewrite)
    apigw.known.update({"a=", "b="})
    # WHEN broadcasting: the fast path is used, towards the moved URL
    poster = _signed.poster_for(client, 2)
    assert poster is not None and poster.endpoint_url == f"{local}/test"
    result = Connections(client=client).broadcast(["a=", "b="], "x")
    # THEN the stub received both posts, and nothing tried to reach AWS
    assert result.sent == ["a=", "b="]
    assert sorted(r.connection_id for r in apigw.requests) == ["a=", "b="]
    assert looked_up == []
