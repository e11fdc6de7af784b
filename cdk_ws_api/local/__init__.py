"""The local emulator of ``cdk-ws-api``: serves any synthesized API Gateway WebSocket API.

Pure core (no I/O): :mod:`.routing`, :mod:`.events`, :mod:`.policy`, :mod:`.registry`,
:mod:`.intrinsics`, :mod:`.assembly` (reads files only), :mod:`.management` (state and wire
format). Shells: :mod:`.gateway` (WebSocket server + ``@connections`` on the same port),
:mod:`.workers` (warm Lambda processes, :mod:`.worker_entry` inside them), :mod:`.dynamodb`
(embedded moto), :mod:`.emulator` (all together), :mod:`.cli` (``cdk-ws-api local``).

Nothing here imports ``aws_cdk``; importing this package imports no third-party module.
"""

from __future__ import annotations

__all__: list[str] = []
