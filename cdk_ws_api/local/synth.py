"""Synthesize a CDK app into a cloud assembly without the CDK CLI.

The app command (``--app`` or the ``app`` of ``./cdk.json``) runs through the shell with
``CDK_OUTDIR`` set, the ``context`` of ``cdk.json``/``cdk.context.json`` in
``CDK_CONTEXT_JSON``, and this Python's ``bin`` directory first on ``PATH`` so ``python app.py``
finds the same packages as the emulator. Like the CDK CLI it asks for path and asset metadata
(:data:`SYNTH_CONTEXT`): ``aws:cdk:path`` lets the Invoke API name functions by construct path
(``NotifierStack/Notifier``) and ``aws:asset:path`` leads to each function's code.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from .exceptions import NoWebSocketApiError, SynthError
from .options import EmulatorOptions
from .specs import LocalApp

__all__ = ["Resynthesizer", "app_from_cdk_json", "assembly_for", "synthesize"]


def app_from_cdk_json(directory: str | Path = ".") -> str:
    """The ``app`` command of ``directory/cdk.json``; raises :class:`SynthError` if absent."""
    path = Path(directory) / "cdk.json"
    try:
        app = json.loads(path.read_text()).get("app")
    except (OSError, ValueError) as exc:
        raise SynthError(f"no --app given and {path} is unreadable: {exc}") from exc
    if not isinstance(app, str) or not app:
        raise SynthError(f"{path} has no 'app' command")
    return app


#: Context the CDK CLI passes to every synth (its defaults; ``cdk.json`` may override them).
SYNTH_CONTEXT: dict[str, object] = {
    "aws:cdk:enable-path-metadata": True,
    "aws:cdk:enable-asset-metadata": True,
}


def _context(directory: Path) -> dict[str, object]:
    context: dict[str, object] = dict(SYNTH_CONTEXT)
    for name, key in (("cdk.json", "context"), ("cdk.context.json", None)):
        try:
            data = json.loads((directory / name).read_text())
        except (OSError, ValueError):
            continue
        section = data.get(key, {}) if key else data
        if isinstance(section, dict):
            context.update(section)
    return context


#: Under ``--watch``: assets are not copied into the assembly, so a function's code folder is
#: its source folder (the context SAM CLI passes to CDK apps).
WATCH_CONTEXT: dict[str, object] = {"aws:cdk:disable-asset-staging": True}


def synthesize(
    app: str,
    outdir: str | Path,
    *,
    cwd: str | Path = ".",
    timeout: float = 300,
    context: dict[str, object] | None = None,
    started: Callable[[subprocess.Popen[str]], None] | None = None,
) -> Path:
    """Run ``app`` with ``CDK_OUTDIR=outdir`` and return the assembly directory.

    ``started`` gets the process (its own session: killing its group stops the app and the
    jsii node process under it). Raises :class:`SynthError` with the app's output when it
    fails or writes no manifest.
    """
    outdir = Path(outdir).resolve()
    outdir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env["CDK_OUTDIR"] = str(outdir)
    env.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    env["CDK_CONTEXT_JSON"] = json.dumps({**_context(Path(cwd)), **(context or {})})
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    process = subprocess.Popen(
        app,
        shell=True,
        cwd=str(cwd),
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    if started is not None:
        started(process)
    try:
        _, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        _kill_group(process)
        process.communicate()
        raise SynthError(f"{app!r} did not finish in {timeout:.0f}s") from exc
    except BaseException:  # Ctrl-C: its own session gets no SIGINT from the terminal
        _kill_group(process)
        process.wait()
        raise
    if process.returncode != 0:
        raise SynthError(f"{app!r} exited with {process.returncode}:\n{stderr[-4000:]}")
    if not (outdir / "manifest.json").exists():
        raise SynthError(f"{app!r} wrote no manifest.json to {outdir} (does it call app.synth()?)")
    return outdir


def _kill_group(process: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def assembly_for(
    options: EmulatorOptions,
    scratch: contextlib.ExitStack,
    *,
    cwd: str | Path = ".",
    announce: Callable[[str], None] = lambda line: None,
) -> Path:
    """The cloud assembly ``options`` name: ``assembly`` as is, or ``app`` (default: the
    ``app`` of ``cwd/cdk.json``) synthesized into ``output`` or a temporary directory that
    ``scratch`` removes."""
    if options.assembly is not None:
        return Path(options.assembly)
    command = options.app or app_from_cdk_json(cwd)
    outdir = options.output or scratch.enter_context(
        tempfile.TemporaryDirectory(prefix="cdk-ws-api-")
    )
    announce(
        f"synthesizing: {command}" + (" (asset staging disabled: --watch)" if options.watch else "")
    )
    return synthesize(command, outdir, cwd=cwd, context=WATCH_CONTEXT if options.watch else None)


class Resynthesizer:
    """Synthesizes the served project again under ``--watch`` and loads the new app: the
    ``app`` of ``options`` (or of ``cwd/cdk.json``, read again: an edit of its ``app`` or
    ``context`` counts), with asset staging disabled, into ``output`` or a new temporary
    directory each time (the one of the version served is removed once the next one loads).
    Blocking: the emulator calls :meth:`load` in a thread; :meth:`close` kills a synth in
    progress and removes the directories."""

    def __init__(self, options: EmulatorOptions, cwd: str | Path) -> None:
        self.options = options
        self.cwd = Path(cwd)
        self._current: Path | None = None
        self._process: subprocess.Popen[str] | None = None
        self._closed = False

    def load(self, stage: str) -> LocalApp:
        """The new version, serving ``stage`` if it still has it, else its first stage.
        Raises :class:`~.exceptions.LocalEmulatorError` (a failed synth, no WebSocket API...)."""
        from .assembly import load_app

        if self._closed:
            raise SynthError("the emulator is stopping")
        command = self.options.app or app_from_cdk_json(self.cwd)
        outdir = (
            Path(self.options.output)
            if self.options.output
            else Path(tempfile.mkdtemp(prefix="cdk-ws-api-"))
        )
        try:
            synthesize(command, outdir, cwd=self.cwd, context=WATCH_CONTEXT, started=self._started)
            try:
                app = load_app(outdir, stack=self.options.stack, stage=stage)
            except NoWebSocketApiError:  # the stage is gone (or the API: raised again below)
                app = load_app(outdir, stack=self.options.stack)
        except BaseException:
            self._remove(outdir)
            raise
        finally:
            self._process = None
        self._remove(self._current)
        self._current = outdir
        return app

    def _started(self, process: subprocess.Popen[str]) -> None:
        self._process = process
        if self._closed:
            _kill_group(process)

    def _remove(self, directory: Path | None) -> None:
        # Only the temporary directories made here; --output is the user's.
        if directory is not None and not self.options.output:
            shutil.rmtree(directory, ignore_errors=True)

    def close(self) -> None:
        self._closed = True
        process = self._process
        if process is not None and process.poll() is None:
            _kill_group(process)
        self._remove(self._current)
        self._current = None
