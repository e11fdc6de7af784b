"""What applying a re-synthesized app changed (``--watch``): computed from the two
:class:`~.specs.LocalApp` versions, completed by the emulator with what it did (tables
created, connections closed, pools replaced), and written as the one reload line.

Pure: no I/O, so the diff is tested without a server (``tests/local/test_applied.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .specs import LocalApp

__all__ = ["AppliedChanges"]


def _diff(
    old: Mapping[str, object], new: Mapping[str, object]
) -> tuple[list[str], list[str], list[str]]:
    added = sorted(new.keys() - old.keys())
    removed = sorted(old.keys() - new.keys())
    changed = sorted(k for k in new.keys() & old.keys() if new[k] != old[k])
    return added, removed, changed


@dataclass
class AppliedChanges:
    """The differences between the served app and its next version, by kind."""

    routes_added: list[str] = field(default_factory=list)
    routes_removed: list[str] = field(default_factory=list)
    routes_changed: list[str] = field(default_factory=list)
    functions_added: list[str] = field(default_factory=list)
    functions_removed: list[str] = field(default_factory=list)
    #: ``(old, new)`` when the served stage changed (renamed or removed).
    stage: tuple[str, str] | None = None
    #: Whatever else of the API changed: ``authorizers``, ``models``, ``stage variables``...
    other: list[str] = field(default_factory=list)
    #: Filled in by the emulator: moto tables/resources created, connections closed (1001),
    #: functions whose workers were replaced (new code folder, handler, environment...).
    created: list[str] = field(default_factory=list)
    closed: int = 0
    replaced: list[str] = field(default_factory=list)
    #: What could not be applied (moto failing to create a table), the rest being served.
    errors: list[str] = field(default_factory=list)

    @classmethod
    def between(cls, old: LocalApp, new: LocalApp) -> AppliedChanges:
        changes = cls()
        changes.routes_added, changes.routes_removed, changes.routes_changed = _diff(
            old.api.routes, new.api.routes
        )
        added, removed, _ = _diff(old.functions, new.functions)
        changes.functions_added = [new.functions[k].name for k in added]
        changes.functions_removed = [old.functions[k].name for k in removed]
        if old.api.stage != new.api.stage:
            changes.stage = (old.api.stage, new.api.stage)
        for label, before, after in (
            ("authorizers", old.api.authorizers, new.api.authorizers),
            ("models", old.api.models, new.api.models),
            ("stage variables", old.api.stage_variables, new.api.stage_variables),
            (
                "route selection expression",
                old.api.route_selection_expression,
                new.api.route_selection_expression,
            ),
            ("event sources", old.event_sources, new.event_sources),
            ("permissions", _permissions(old), _permissions(new)),
        ):
            if before != after:
                changes.other.append(label)
        return changes

    @property
    def empty(self) -> bool:
        """Nothing the emulator serves changed."""
        return not (
            self.routes_added
            or self.routes_removed
            or self.routes_changed
            or self.functions_added
            or self.functions_removed
            or self.stage
            or self.other
            or self.created
            or self.closed
            or self.replaced
            or self.errors
        )

    def describe(self) -> str:
        """One clause per kind of change, ``; ``-separated (``no change`` when empty)."""
        parts: list[str] = []
        if self.stage is not None:
            parts.append(
                f"stage {self.stage[0]} removed: {self.closed} connection(s) closed (1001), "
                f"now serving stage {self.stage[1]}"
            )
        for sign, label, names in (
            ("+", "route", self.routes_added),
            ("-", "route", self.routes_removed),
            ("~", "route", self.routes_changed),
            ("+", "function", self.functions_added),
            ("-", "function", self.functions_removed),
            ("~", "function", self.replaced),
            ("+", "created in moto", self.created),
        ):
            if names:
                plural = "s" if len(names) > 1 and label != "created in moto" else ""
                parts.append(f"{sign}{label}{plural} {', '.join(names)}")
        if self.other:
            parts.append("changed: " + ", ".join(self.other))
        parts.extend(f"ERROR: {error}" for error in self.errors)
        return "; ".join(parts) or "no change"


def _permissions(app: LocalApp) -> object:
    return app.permissions.to_json() if app.permissions is not None else None
