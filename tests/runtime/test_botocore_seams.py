"""What the fast path reads of a botocore client, and how (issue 12, §4): public APIs where
botocore has one, its private attributes in one function only. These tests run against the
newest botocore in .venv and, in ``make test``, the oldest pyproject allows
(``constraints/botocore-oldest.txt``): a botocore that moves an internal fails here first."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore
import pytest
from botocore.config import Config

from lambda_runtime import Connections, _aws, _signed

from .apigw_stub import ApiGatewayStub


@pytest.fixture(autouse=True)
def _fresh_clients() -> Iterator[None]:
    _aws.clear_client_cache()
    yield
    _aws.clear_client_cache()


def test_the_private_attributes_read_are_still_where_they_were(tmp_path: Path) -> None:
    # GIVEN a client with its own credentials, a CA bundle path and a hook of the caller's
    bundle = tmp_path / "ca.pem"
    bundle.write_text("")
    client = boto3.session.Session(
        aws_access_key_id="AKIDSEAM", aws_secret_access_key="seam-secret", region_name="eu-west-1"
    ).client(
        "apigatewaymanagementapi",
        endpoint_url="https://abc.execute-api.eu-west-1.amazonaws.com/prod",
        verify=str(bundle),
    )

    def hook(**_: Any) -> None:
        return None

    client.meta.events.register("before-send.apigatewaymanagementapi.PostToConnection", hook)
    # WHEN the one function that reads botocore's internals reads them
    internals = _signed._botocore_internals(client, credentials=True)
    # THEN it finds each where botocore keeps it (this fails when botocore moves one)
    assert internals.credentials.get_frozen_credentials().access_key == "AKIDSEAM"
    assert internals.verify == str(bundle)
    assert ("before-send", hook) in internals.handlers
    assert all(event in _signed._CALL_EVENTS for event, _ in internals.handlers)
    assert _signed._botocore_internals(client, credentials=False).credentials is None


def test_a_botocore_without_those_internals_falls_back_and_says_so(
    apigw: ApiGatewayStub, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN a botocore whose HTTP session no longer has ``_verify`` (as a future one might)
    class MovedVerify:
        def __init__(self, inner: Any) -> None:
            self._inner = inner

        def __getattr__(self, name: str) -> Any:
            if name == "_verify":
                raise AttributeError(f"'URLLib3Session' object has no attribute {name!r}")
            return getattr(self._inner, name)

    client = boto3.client("apigatewaymanagementapi", endpoint_url=apigw.endpoint_url)
    client._endpoint.http_session = MovedVerify(client._endpoint.http_session)
    apigw.known.add("a=")
    # WHEN broadcasting
    result = Connections(client=client).broadcast(["a="], "x")
    # THEN the posts went through the client, and a warning named botocore's version
    assert result.sent == ["a="]
    warnings = [r.getMessage() for r in caplog.records if r.name == _signed.LOGGER_NAME]
    assert len(warnings) == 1 and f"botocore {botocore.__version__} moved" in warnings[0]
    assert "_verify" in warnings[0]


def test_the_clients_lambda_runtime_makes_use_their_sessions_public_credentials(
    apigw: ApiGatewayStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the default client (made by lambda_runtime._aws)
    apigw.known.add("a=")
    connections = Connections(apigw.endpoint_url)
    asked: list[bool] = []
    original = _signed._botocore_internals

    def spy(client: Any, *, credentials: bool) -> Any:
        asked.append(credentials)
        return original(client, credentials=credentials)

    monkeypatch.setattr(_signed, "_botocore_internals", spy)
    # WHEN broadcasting
    assert connections.broadcast(["a="], "x").sent == ["a="]
    # THEN its credentials came from boto3's Session.get_credentials(), not the signer
    assert asked == [False]
    client = _aws.client(
        "apigatewaymanagementapi",
        endpoint_url=apigw.endpoint_url,
        max_pool_connections=16,
        no_retries=True,
    )
    assert _aws.session_credentials_of(client) is not None
    assert _aws.session_credentials_of(boto3.client("apigatewaymanagementapi")) is None


def test_a_proxy_from_the_environment_means_the_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    endpoint = "https://abc.execute-api.us-east-1.amazonaws.com/prod"
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert (
        _signed.poster_for(boto3.client("apigatewaymanagementapi", endpoint_url=endpoint), 4)
        is None
    )
    # ...unless the client's Config says "no proxies" (as botocore honours it)
    direct = boto3.client(
        "apigatewaymanagementapi", endpoint_url=endpoint, config=Config(proxies={})
    )
    assert _signed.poster_for(direct, 4) is not None
    # ...or NO_PROXY covers the host
    monkeypatch.setenv("NO_PROXY", ".amazonaws.com")
    assert _signed.poster_for(boto3.client("apigatewaymanagementapi", endpoint_url=endpoint), 4)


def test_other_signature_versions_mean_the_client() -> None:
    from botocore import UNSIGNED

    client = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url="https://abc.execute-api.us-east-1.amazonaws.com/prod",
        config=Config(signature_version=UNSIGNED),
    )
    assert _signed.poster_for(client, 4) is None


def test_a_client_certificate_is_presented_as_botocore_presents_it(tmp_path: Path) -> None:
    # GIVEN an HTTPS stand-in of API Gateway that requires a client certificate it trusts
    from .tls import self_signed_certificate

    cert, key = self_signed_certificate(tmp_path)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    server_context.verify_mode = ssl.CERT_REQUIRED
    server_context.load_verify_locations(cert)
    stub = ApiGatewayStub(stage="mtls", ssl_context=server_context).start()
    try:
        stub.known.update({"a=", "b="})

        def client(**config: Any) -> Any:
            return boto3.client(
                "apigatewaymanagementapi",
                endpoint_url=stub.endpoint_url,
                verify=str(cert),
                config=Config(**config),
            )

        # WHEN broadcasting with Config(client_cert=(cert, key)), through the fast path
        with_cert = client(client_cert=(str(cert), str(key)))
        assert _signed.poster_for(with_cert, 2) is not None
        result = Connections(client=with_cert).broadcast(["a=", "b="], "x")
        # THEN the server accepted it; without the certificate, every id fails (TLS)
        assert result.sent == ["a=", "b="]
        without = Connections(client=client()).broadcast(["a="], "x")
        assert without.sent == [] and "a=" in without.failed
    finally:
        stub.stop()
