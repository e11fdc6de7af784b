"""Errors raised by the cdk-ws-api constructs.

Exception tree::

    ValueError
     └── ConstructValidationError   invalid construct props, raised at construction time

Validation never looks at unresolved tokens (``Token.is_unresolved``): CloudFormation checks
those at deploy time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["ConstructValidationError", "Problem", "ProblemCollector"]


@dataclass(frozen=True)
class Problem:
    """One invalid prop: its name, the value given and the rule it breaks."""

    prop: str
    value: Any
    rule: str

    def __str__(self) -> str:
        return f"{self.prop}={self.value!r}: {self.rule}"


class ConstructValidationError(ValueError):
    """Raised by a construct's ``__init__`` (or ``add_route``/``grant_*``) when props are invalid.

    Every problem found in one call is reported together. ``problems`` keeps them as
    :class:`Problem` objects (``prop``, ``value``, ``rule``) for programmatic use; the message
    names the construct path, then one line per problem.
    """

    def __init__(self, construct_path: str, problems: Sequence[Problem]) -> None:
        self.construct_path = construct_path
        self.problems: tuple[Problem, ...] = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        noun = "problem" if len(self.problems) == 1 else "problems"
        super().__init__(f"{construct_path}: {len(self.problems)} invalid prop {noun}:\n{lines}")


class ProblemCollector:
    """Collects problems and raises them as one :class:`ConstructValidationError`."""

    def __init__(self, construct_path: str) -> None:
        self.construct_path = construct_path
        self.problems: list[Problem] = []

    def add(self, prop: str, value: Any, rule: str) -> None:
        self.problems.append(Problem(prop, value, rule))

    def raise_if_any(self) -> None:
        if self.problems:
            raise ConstructValidationError(self.construct_path, self.problems)
