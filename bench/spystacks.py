"""Summarize py-spy's ``--format raw`` output (collapsed stacks, ``--subprocesses``):
samples per process, then the hottest frames (self and inclusive) of each busy process."""

from __future__ import annotations

import collections
import re

__all__ = ["summarize"]

_RECORD = re.compile(r"(process .*?) (\d+)\n", re.S)
#: Frames every sample of an asyncio program or a module run passes through: not informative.
_ROOTS = re.compile(
    r"<frozen runpy>|^<module>|asyncio/runners\.py|run_forever|run_until_complete|_run_once"
    r"|^main \(cdk_ws_api/cli\.py\)|^run \(cdk_ws_api/local/cli\.py\)|^Handle\._run"
)


def _process_name(frame: str) -> str:
    name = frame.split(":", 1)[1].strip('"').replace("\n", " ")
    name = re.sub(r"\S*/python3?\S* ", "python ", name)
    return name[:70]


def _frame_name(frame: str) -> str:
    function, _, where = frame.partition(" (")
    return f"{function} ({where.split(':')[0]})" if where else function


def summarize(text: str, top: int = 12) -> str:
    per_process: collections.Counter[str] = collections.Counter()
    self_time: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    inclusive: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for stack, count in _RECORD.findall(text + "\n"):
        samples = int(count)
        frames = stack.split(";")
        processes = [f for f in frames if f.startswith("process ")]
        code = [_frame_name(f) for f in frames if not f.startswith("process ")]
        process = _process_name(processes[-1])
        per_process[process] += samples
        self_time[process][code[-1] if code else "(not in Python)"] += samples
        for name in set(code):
            inclusive[process][name] += samples
    total = sum(per_process.values()) or 1
    lines = ["samples per process (share of all samples):"]
    lines += [f"  {n:6d} {100 * n / total:5.1f}%  {p}" for p, n in per_process.most_common()]
    for process, samples in per_process.most_common(3):
        lines.append(f"\n{process}: hottest frames, self / inclusive ({samples} samples)")
        for name, n in self_time[process].most_common(top):
            lines.append(f"  self {n:6d} {100 * n / samples:5.1f}%  {name}")
        shown = 0
        for name, n in inclusive[process].most_common():
            if _ROOTS.search(name) or n == samples:
                continue
            lines.append(f"  incl {n:6d} {100 * n / samples:5.1f}%  {name}")
            shown += 1
            if shown >= top:
                break
    return "\n".join(lines)
