"""The shared port's HTTP/1.1 parser against ``h11``, side by side (issue 9, item 14).

One boto3 ``PostToConnection`` request (its real headers, a 20-byte body), parsed and
answered per round by each: ``RequestParser.feed`` plus the channel's serializer, and
``h11.Connection`` (``receive_data``, events, ``send(Response)``, ``start_next_cycle``).
Rounds alternate and last ``--seconds`` each; the median per-request time and the ratio are
printed. Run: ``python -m bench.httpparse [--seconds 0.5] [--rounds 9]``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import h11

from cdk_ws_api.local.httpparse import RequestParser
from cdk_ws_api.local.management import HttpResponse
from cdk_ws_api.local.sharedport import _serialize

__all__ = ["main"]

REQUEST = (
    b"POST /dev/@connections/abcdefghijklmno%3D HTTP/1.1\r\nHost: 127.0.0.1:3001\r\n"
    b"Accept-Encoding: identity\r\nUser-Agent: Boto3/1.35.0 md/Botocore#1.35.0 ua/2.0 "
    b"os/linux#6 md/arch#x86_64 lang/python#3.12.3 md/pyimpl#CPython cfg/retry-mode#legacy "
    b"Botocore/1.35.0\r\nX-Amz-Date: 20261201T090000Z\r\nX-Amz-Content-SHA256: "
    b"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\r\nAuthorization: "
    b"AWS4-HMAC-SHA256 Credential=testing/20261201/us-east-1/execute-api/aws4_request, "
    b"SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=0123456789abcdef0123"
    b"456789abcdef0123456789abcdef0123456789abcdef\r\namz-sdk-invocation-id: "
    b"1b2c3d4e-aaaa-bbbb-cccc-1234567890ab\r\namz-sdk-request: attempt=1\r\n"
    b"Content-Length: 20\r\n\r\n" + b'{"message":"hello!"}'
)
ANSWER = HttpResponse(200, b"", {"Content-Type": "application/json"})


def ours() -> Callable[[], None]:
    parser = RequestParser()

    def one() -> None:
        (request,) = parser.feed(REQUEST)
        _serialize(ANSWER, keep_alive=request.keep_alive)

    return one


def reference() -> Callable[[], None]:
    connection = h11.Connection(h11.SERVER)

    def one() -> None:
        connection.receive_data(REQUEST)
        while not isinstance(connection.next_event(), h11.EndOfMessage):
            pass
        headers = [("Content-Type", "application/json"), ("Content-Length", "0")]
        connection.send(h11.Response(status_code=200, headers=headers))
        connection.send(h11.EndOfMessage())
        connection.start_next_cycle()

    return one


def _round(step: Callable[[], None], seconds: float) -> float:
    count, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        for _ in range(100):
            step()
        count += 100
    return elapsed / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=0.5)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    times: dict[str, list[float]] = {"cdk-ws-api httpparse": [], "h11": []}
    for _ in range(args.rounds):
        times["cdk-ws-api httpparse"].append(_round(ours(), args.seconds))
        times["h11"].append(_round(reference(), args.seconds))
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, value in medians.items():
        print(f"{name:22s} {value * 1e6:7.1f} us/request")
    print(f"h11 / httpparse: {medians['h11'] / medians['cdk-ws-api httpparse']:.1f}x")


if __name__ == "__main__":
    main()
