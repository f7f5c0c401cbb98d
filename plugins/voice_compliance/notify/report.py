"""What one validation run tells Slack: counts per clause, tickets, data quality, links.

Plain frozen dataclasses so the validation DAG can build a report from
whatever it computed (GX results, the ticket sink's counts) without this
package importing Great Expectations or Airflow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ClauseLine:
    """One clause's outcome in a validation run."""

    clause_id: str
    severity: str
    subjects_checked: int
    violations: int
    failed_expectations: int
    tickets_open: int

    @property
    def failing(self) -> bool:
        """True when the clause has violations or a failed expectation."""
        return self.violations > 0 or self.failed_expectations > 0


@dataclass(frozen=True)
class RunReport:
    """The summary of one validation run, rendered as one Slack message.

    ``period`` is free text (``"2026-09 to 2026-10"``); links may be
    ``http(s)://`` URLs or local ``file://`` paths (the embedded default).
    """

    dag_id: str
    run_id: str
    period: str
    validated_at: datetime
    clauses: Sequence[ClauseLine]
    data_quality_failures: Sequence[str]
    tickets_opened: int
    tickets_reopened: int
    tickets_updated: int
    tickets_resolved: int
    tickets_open_total: int
    data_docs_url: str
    dbt_docs_url: str
    tickets_location: str
    report_url: str = ""
    """The monthly compliance report of the run's last month (``""``: none)."""

    @property
    def total_violations(self) -> int:
        """Violations summed over every clause."""
        return sum(line.violations for line in self.clauses)

    @property
    def key(self) -> str:
        """The idempotency key for ``notify``: one message per DAG run.

        An Airflow retry of the notifying task re-sends under the same key,
        which the outbox turns into a no-op.
        """
        return f"run:{self.dag_id}:{self.run_id}"
