"""What a validation run found: the failing groups that tickets and alerts act on.

Validation produces :class:`FailingGroup` values and the ticket lifecycle
consumes them; the type lives here, below both, so validation never imports
tickets.
"""

from __future__ import annotations

from dataclasses import dataclass

GroupKey = tuple[str, str | None, str]
"""``(clause_id, account_sid or None, month)``: one ticket's identity."""


@dataclass(frozen=True)
class FailingGroup:
    """One ``(clause_id, account_sid, month)`` whose expectation failed in a run."""

    clause_id: str
    account_sid: str | None
    month: str
    violations: int
    severity: str
    owner: str
    suite: str
    expectation: str

    @property
    def key(self) -> GroupKey:
        """The ticket this group belongs to (an empty account counts as none)."""
        return (self.clause_id, self.account_sid or None, self.month)
