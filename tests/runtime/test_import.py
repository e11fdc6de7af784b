"""Cold start: importing the package (and using events/dispatch) loads no boto3/botocore."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import lambda_runtime


def run(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return result.stdout.strip()


def test_import_loads_no_boto3_or_botocore() -> None:
    out = run(
        """
        import sys
        import lambda_runtime
        from lambda_runtime import (
            Connections, ConnectionStore, WebSocketApp, allow, parse_event,
        )
        app = WebSocketApp()
        app.route("chat")(lambda event: {"ok": True})
        event = {"requestContext": {"connectionId": "a=", "routeKey": "chat"}, "body": "{}"}
        app(event, None)
        Connections("https://a.execute-api.us-east-1.amazonaws.com/s")
        Connections()  # a publisher's: the variable is read on use
        ConnectionStore("t")
        # the last endpoint fallback reads botocore's partition data without importing it
        import os
        from lambda_runtime import management_endpoint
        os.environ["AWS_REGION"] = "cn-north-1"
        os.environ.pop("WS_API_MANAGEMENT_ENDPOINT", None)
        custom = {"requestContext": {"connectionId": "a=", "routeKey": "$connect",
                  "domainName": "ws.example.com", "stage": "prod", "apiId": "abc"}}
        assert management_endpoint(custom).endswith(".amazonaws.com.cn/prod")
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("boto3", "botocore")))
        """
    )
    assert out == "[]"


def test_bare_import_loads_only_the_package() -> None:
    out = run(
        """
        import sys
        before = set(sys.modules)
        import lambda_runtime
        print(sorted(set(sys.modules) - before))
        """
    )
    # (``__future__``, which ``from __future__ import annotations`` loads, is already loaded
    # in some interpreters and not in others: a few hundred bytes of stdlib either way.)
    assert out in ("['lambda_runtime']", "['__future__', 'lambda_runtime']")


def test_every_public_name_resolves() -> None:
    for name in lambda_runtime.__all__:
        assert getattr(lambda_runtime, name) is not None
    assert set(lambda_runtime.__all__) <= set(dir(lambda_runtime))


def test_unknown_attribute_is_an_attribute_error() -> None:
    try:
        lambda_runtime.nope  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "nope" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected AttributeError")


def test_py_typed_is_shipped() -> None:
    from pathlib import Path

    assert (Path(lambda_runtime.__file__).parent / "py.typed").is_file()
