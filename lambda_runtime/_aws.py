"""boto3 on first use: one session and one client per (service, endpoint, region, pool size).

Importing this module imports nothing: boto3 is imported the first time a client is needed,
and clients are cached for the life of the Lambda execution environment (they are
thread-safe; creating them is what is slow, ~50-100 ms each).
"""

from __future__ import annotations

import _thread
import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "clear_client_cache",
    "client",
    "dns_suffix",
    "region_from_endpoint",
    "session_credentials_of",
]

_lock = _thread.allocate_lock()
_session: Any = None
_clients: dict[tuple[str, str | None, str | None, int | None, str], Any] = {}


def region_from_endpoint(endpoint_url: str | None) -> str | None:
    """The region of an ``https://{id}.execute-api.{region}.{dnsSuffix}[/…]`` URL (any
    partition's suffix: ``amazonaws.com``, ``amazonaws.com.cn``, ``c2s.ic.gov``...), else
    None."""
    if not endpoint_url:
        return None
    host = endpoint_url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0].lower()
    parts = host.split(".")
    if len(parts) >= 5 and parts[1] == "execute-api" and _looks_like_region(parts[2]):
        return parts[2]
    return None


def _looks_like_region(text: str) -> bool:
    # us-east-1, cn-north-1, us-gov-west-1, us-iso-east-1, eu-isoe-west-1: letters, dashes,
    # then a number.
    name, _, number = text.rpartition("-")
    return bool(name) and number.isdigit() and number.isascii() and "-" in name


#: DNS suffix per region, once looked up.
_suffixes: dict[str, str] = {}


def dns_suffix(region: str) -> str:
    """The DNS suffix of ``region``'s partition: ``amazonaws.com`` (aws, aws-us-gov),
    ``amazonaws.com.cn`` (aws-cn), ``amazonaws.eu``, ``c2s.ic.gov``... from botocore's own
    partition data, matched as botocore's endpoint rules match it: the partition listing the
    region, else the one whose region pattern it matches, else ``aws``.

    The data is botocore's ``data/partitions.json`` (what ``botocore.loaders.Loader`` loads
    as ``"partitions"``; a test checks the two agree on the oldest and newest botocore), read
    from botocore's package directory *without importing botocore*: on this project's
    machine importing botocore for it cost a cold start ~240-300 ms, reading the file ~0.3 ms
    (``python -m bench.profiles endpoint-fallback``), and a handler that only resolves its
    endpoint should not pay the import. If the file cannot be read, ``cn-*`` regions get
    ``amazonaws.com.cn`` and others ``amazonaws.com``."""
    found = _suffixes.get(region)
    if found is not None:
        return found
    try:
        suffix = _partition_suffix(region, _botocore_partitions())
    except Exception:  # botocore missing, or a layout or format it changed
        suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    _suffixes[region] = suffix
    return suffix


def _botocore_partitions() -> list[Any]:
    import importlib.util
    import json
    from pathlib import Path

    spec = importlib.util.find_spec("botocore")  # finds the package, does not run it
    assert spec is not None and spec.submodule_search_locations
    data = Path(next(iter(spec.submodule_search_locations))) / "data"
    plain = data / "partitions.json"
    if plain.is_file():
        text = plain.read_bytes()
    else:  # a botocore that ships its data compressed
        import gzip

        text = gzip.decompress((data / "partitions.json.gz").read_bytes())
    partitions: list[Any] = json.loads(text)["partitions"]
    return partitions


def _partition_suffix(region: str, partitions: list[Any]) -> str:
    import re

    for partition in partitions:
        if region in partition.get("regions", {}):
            return str(partition["outputs"]["dnsSuffix"])
    for partition in partitions:
        if re.match(partition["regionRegex"], region):
            return str(partition["outputs"]["dnsSuffix"])
    default = next(p for p in partitions if p["id"] == "aws")
    return str(default["outputs"]["dnsSuffix"])


def client(
    service: str,
    *,
    endpoint_url: str | None = None,
    region: str | None = None,
    max_pool_connections: int | None = None,
    no_retries: bool = False,
) -> Any:
    """A cached boto3 client. ``region`` defaults to the one in the endpoint URL, then to
    ``AWS_REGION``/``AWS_DEFAULT_REGION`` (as boto3 resolves it)."""
    region = region or region_from_endpoint(endpoint_url)
    # The AWS_ENDPOINT_URL* variables are part of the key so that a changed environment (tests,
    # the local emulator) gets a new client instead of a stale one.
    env_endpoint = os.environ.get(f"AWS_ENDPOINT_URL_{service.upper()}") or os.environ.get(
        "AWS_ENDPOINT_URL", ""
    )
    key = (service, endpoint_url, region, max_pool_connections, f"{env_endpoint}|{no_retries}")
    found = _clients.get(key)
    if found is not None:
        return found
    with _lock:
        found = _clients.get(key)
        if found is None:
            found = _clients[key] = _create(
                service, endpoint_url, region, max_pool_connections, no_retries
            )
        return found


def _create(
    service: str,
    endpoint_url: str | None,
    region: str | None,
    max_pool_connections: int | None,
    no_retries: bool,
) -> Any:
    global _session
    import boto3.session
    from botocore.config import Config

    if _session is None:
        _session = boto3.session.Session()
    options: dict[str, Any] = {"connect_timeout": 5, "read_timeout": 15}
    if max_pool_connections is not None:
        options["max_pool_connections"] = max_pool_connections
    if no_retries:
        # The caller owns the retry policy (e.g. jittered backoff on 429 in broadcast).
        options["retries"] = {"mode": "standard", "total_max_attempts": 1}
    return _session.client(
        service, endpoint_url=endpoint_url, region_name=region, config=Config(**options)
    )


def session_credentials_of(client: Any) -> Any:
    """The credentials of ``client`` through boto3's public ``Session.get_credentials()`` when
    it is one this module created (the same object its signer holds: botocore gives a client
    its session's credentials), else None."""
    with _lock:
        session = _session
        ours = any(found is client for found in _clients.values())
    return session.get_credentials() if ours and session is not None else None


def clear_client_cache() -> None:
    """Forget every cached client, the session and the connection pools of
    ``Connections.broadcast`` (for tests that change credentials or endpoints)."""
    global _session
    with _lock:
        _clients.clear()
        _session = None
    from . import _signed

    _signed.clear_pools()
