"""A throw-away ``PostToConnection`` sender without botocore, for the analysis of benchmark 3.

Each request is SigV4-signed by hand (the signing key derived once per day and cached, one
HMAC per request) and sent over a kept-alive ``http.client`` connection per thread. It shows
what a broadcast costs when botocore's per-call pipeline is not paid; it is not product code
(no retries, no error mapping, plain HTTP to the local emulator only).
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import http.client
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote, urlsplit

__all__ = ["PrototypePoster"]


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


class PrototypePoster:
    """``PrototypePoster("http://127.0.0.1:PORT/stage").broadcast(ids, b"data")``."""

    def __init__(self, endpoint: str, *, region: str = "us-east-1", threads: int = 8) -> None:
        parts = urlsplit(endpoint)
        if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "localhost"):
            raise ValueError("the prototype only posts to the local emulator")
        self.host = parts.netloc
        self.prefix = parts.path.rstrip("/")
        self.region = region
        self.threads = threads
        self.access_key = os.environ["AWS_ACCESS_KEY_ID"]
        self.secret = os.environ["AWS_SECRET_ACCESS_KEY"]
        self.token = os.environ.get("AWS_SESSION_TOKEN")
        self._local = threading.local()
        self._keys: dict[str, bytes] = {}

    def _signing_key(self, day: str) -> bytes:
        key = self._keys.get(day)
        if key is None:
            key = _hmac(("AWS4" + self.secret).encode(), day)
            for part in (self.region, "execute-api", "aws4_request"):
                key = _hmac(key, part)
            self._keys = {day: key}
        return key

    def _headers(self, path: str, payload: bytes) -> dict[str, str]:
        now = datetime.datetime.now(datetime.timezone.utc)
        stamp, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
        payload_hash = hashlib.sha256(payload).hexdigest()
        headers = {"host": self.host, "x-amz-date": stamp}
        if self.token:
            headers["x-amz-security-token"] = self.token
        names = ";".join(sorted(headers))
        canonical = "\n".join(
            [
                "POST",
                path,
                "",
                *(f"{k}:{headers[k]}" for k in sorted(headers)),
                "",
                names,
                payload_hash,
            ]
        )
        scope = f"{day}/{self.region}/execute-api/aws4_request"
        to_sign = "\n".join(
            ["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()]
        )
        signature = hmac.new(self._signing_key(day), to_sign.encode(), hashlib.sha256).hexdigest()
        headers["authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={self.access_key}/{scope}, "
            f"SignedHeaders={names}, Signature={signature}"
        )
        return headers

    def post(self, connection_id: str, payload: bytes) -> int:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = http.client.HTTPConnection(self.host, timeout=15)
        path = f"{self.prefix}/@connections/{quote(connection_id, safe='')}"
        connection.request("POST", path, body=payload, headers=self._headers(path, payload))
        response = connection.getresponse()
        response.read()
        return response.status

    def broadcast(self, ids: list[str], payload: bytes) -> list[int]:
        with ThreadPoolExecutor(max_workers=self.threads) as pool:
            return list(pool.map(lambda cid: self.post(cid, payload), ids))
