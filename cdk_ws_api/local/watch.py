"""``--watch``: a handler or layer file changes → that function's warm workers are replaced.

Files are watched with ``watchfiles`` (inotify on Linux, a Rust core; no polling loop written
here), changes debounced (:data:`DEBOUNCE_MS`) and filtered (:class:`SourceFilter`:
``__pycache__``, ``.git``, ``cdk.out``, ``node_modules``, virtualenvs and editor files are
ignored). A change inside a function's code folder or one of its layers replaces that pool's
workers (:meth:`~.workers.WorkerPool.replace`): invocations in flight finish on the old code,
a worker of the new code starts importing at once (pre-warm), so the next message finds it
warm; connections stay open. When the emulator synthesizes the
app itself it passes ``aws:cdk:disable-asset-staging`` (what SAM CLI does for CDK apps), so a
function's code folder is its source folder; with ``--assembly`` the folders the assembly
points at are watched, and the banner says which.

A change to the app's own sources (any file of the project outside every function's folder:
the app's modules, ``cdk.json``, what the app reads) re-synthesizes the project in the
background and applies the new version to the running emulator
(:meth:`~.emulator.Emulator.apply`: routes, authorizers, functions, environments, tables; open
connections stay unless their stage is gone). Edits arriving during a synth are taken by one
more synth after it. On failure the error is printed and the previous version keeps serving.
Which files a synth really reads is not known without tracing the app's process, so every
non-ignored file counts; a synth that changes nothing is reported as "no change". With
``--assembly`` (nothing to synthesize) such a change is only reported. Files of ``--static``
are read on each request, so their changes reload nothing. After an app reload the
watched folders are recomputed (a new function's folder is watched from then on).

One line is printed per reload: what changed, what was reloaded, how long it took.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path

from .specs import FunctionSpec
from .workers import WorkerPools

__all__ = ["DEBOUNCE_MS", "IGNORED_DIRS", "SourceFilter", "Watcher", "functions_to_reload"]

logger = logging.getLogger("cdk_ws_api.local")

#: Changes within this many milliseconds are one reload (an editor's save is several events).
DEBOUNCE_MS = 50
#: Directory names never watched.
IGNORED_DIRS = frozenset(
    {
        "__pycache__",
        ".git",
        ".hg",
        "cdk.out",
        "node_modules",
        ".venv",
        "venv",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        ".hypothesis",
        ".tox",
        ".idea",
    }
)
_IGNORED_SUFFIXES = (".pyc", ".pyo", ".swp", ".swx", "~", ".tmp")


class SourceFilter:
    """``watchfiles`` filter: ``False`` for ignored directories, virtualenvs (a directory
    holding ``pyvenv.cfg``) and editor/bytecode files."""

    def __init__(self) -> None:
        self._venvs: dict[Path, bool] = {}

    def _in_virtualenv(self, path: Path) -> bool:
        for parent in path.parents:
            known = self._venvs.get(parent)
            if known is None:
                known = self._venvs[parent] = (parent / "pyvenv.cfg").is_file()
            if known:
                return True
        return False

    def __call__(self, change: object, path: str) -> bool:
        candidate = Path(path)
        if any(part in IGNORED_DIRS for part in candidate.parts):
            return False
        if candidate.name.endswith(_IGNORED_SUFFIXES) or candidate.name.startswith(".#"):
            return False
        return not self._in_virtualenv(candidate)


def _folders(spec: FunctionSpec) -> list[Path]:
    # A layer dir is ``…/python`` (and its site-packages); its asset folder is the parent.
    return [spec.code_dir, *(d.parent if d.name == "python" else d for d in spec.layer_dirs)]


def functions_to_reload(
    changed: Iterable[Path], functions: dict[str, FunctionSpec]
) -> tuple[set[str], set[Path]]:
    """The function keys whose code or layer folder holds a changed path, and the changed
    paths that belong to no function (the app's own sources)."""
    keys: set[str] = set()
    outside: set[Path] = set()
    for path in changed:
        owners = {
            key
            for key, spec in functions.items()
            if any(path.is_relative_to(folder) for folder in _folders(spec))
        }
        if owners:
            keys |= owners
        else:
            outside.add(path)
    return keys, outside


class Watcher:
    """Watches the functions' folders (and ``project``, the app's directory) of ``functions``
    and replaces the pools' workers on change; ``report`` gets one line per reload.
    ``reload_app`` (re-synthesize and apply the app; returns what it changed, raises with
    the reason it failed) runs for changes outside every function's folder."""

    def __init__(
        self,
        functions: Callable[[], dict[str, FunctionSpec]],
        pools: WorkerPools,
        *,
        project: Path | None = None,
        report: Callable[[str], None] = print,
        debounce_ms: int = DEBOUNCE_MS,
        reload_app: Callable[[], Awaitable[str]] | None = None,
        served_live: Iterable[Path] = (),
    ) -> None:
        self._functions = functions
        #: Folders read from disk on each request (``--static``): their changes need nothing.
        self._served_live = [folder.resolve() for folder in served_live]
        self._pools = pools
        self._project = project
        self._report = report
        self._debounce = debounce_ms
        self._reload_app = reload_app
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        #: Set to restart the watch on :meth:`folders` computed again (after an app reload).
        self._rewatch = asyncio.Event()
        #: The folders the running watch covers.
        self._watching: list[Path] = []
        self._app_changes: set[Path] = set()
        self._app_task: asyncio.Task[None] | None = None
        #: Reloads done (for tests and benchmarks): function reloads, and app reloads tried
        #: (``app_reloads``) and failed (``app_failures``).
        self.reloads = 0
        self.app_reloads = 0
        self.app_failures = 0

    def folders(self) -> list[Path]:
        """What is watched: each function's code and layer folders, and the project."""
        found: dict[Path, None] = {}
        for spec in self._functions().values():
            for folder in _folders(spec):
                if folder.exists():
                    found[folder.resolve()] = None
        if self._project is not None:
            found[self._project.resolve()] = None
        # A folder inside another watched folder is covered by it.
        roots = sorted(found, key=lambda p: len(p.parts))
        kept: list[Path] = []
        for folder in roots:
            if not any(folder.is_relative_to(root) for root in kept):
                kept.append(folder)
        return kept

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())
        await asyncio.wait_for(self._ready.wait(), 10)

    async def stop(self) -> None:
        for task in (self._task, self._app_task):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    async def _run(self) -> None:
        from watchfiles import awatch

        while True:
            folders = self._watching = self.folders()
            self._rewatch.clear()
            watcher = awatch(
                *folders,
                watch_filter=SourceFilter(),
                debounce=self._debounce,
                step=10,
                stop_event=self._rewatch,
                yield_on_timeout=True,
                rust_timeout=200,
            )
            async for changes in watcher:
                self._ready.set()  # the first (timeout) yield: the watch is in place
                if changes:
                    self._apply({Path(path) for _, path in changes})
            # Stopped by _rewatch: watch again, on the folders of the app now served.

    def _apply(self, changed: set[Path]) -> None:
        started = time.monotonic()
        functions = self._functions()
        keys, outside = functions_to_reload(changed, functions)
        for key in sorted(keys):
            pool = self._pools.get(key)
            if pool is not None:
                pool.replace()
        names = ", ".join(sorted({p.name for p in changed})[:5])
        if keys:
            self.reloads += 1
            took = (time.monotonic() - started) * 1000
            self._report(
                f"reload: {names} changed -> {len(keys)} function(s) reloaded "
                f"({', '.join(sorted(functions[k].name for k in keys))}) in {took:.0f} ms"
            )
        outside = {
            path
            for path in outside
            if not any(path.resolve().is_relative_to(folder) for folder in self._served_live)
        }
        if not outside:
            return
        if self._reload_app is None:
            self._report(
                f"reload: {_names(outside)} changed outside every function's folder: restart "
                "cdk-ws-api local to re-synthesize (an --assembly is not synthesized here)"
            )
            return
        self._app_changes |= outside
        if self._app_task is None or self._app_task.done():
            self._app_task = asyncio.create_task(self._reload_app_loop())

    async def _reload_app_loop(self) -> None:
        assert self._reload_app is not None
        while self._app_changes:
            changed, self._app_changes = self._app_changes, set()
            started = time.monotonic()
            self.app_reloads += 1
            try:
                what = await self._reload_app()
            except Exception as exc:  # a failed synth or load: the old version keeps serving
                self.app_failures += 1
                self._report(
                    f"reload: {_names(changed)} changed -> re-synthesis failed, still serving "
                    f"the previous version: {exc}"
                )
                continue
            took = time.monotonic() - started
            self._report(
                f"reload: {_names(changed)} changed -> app re-synthesized and applied in "
                f"{took:.1f} s: {what}"
            )
            if self.folders() != self._watching:
                # A function's folder outside the watched ones: watched from now on. Not
                # restarted otherwise (a restart walks the whole tree again).
                self._rewatch.set()


def _names(paths: Iterable[Path]) -> str:
    return ", ".join(sorted({p.name for p in paths})[:5])
