"""Validate the marts: every suite, for every month of the interval; store the results.

``validate`` is what the validation DAG's first task calls. It reads the
frames in DuckDB (one per suite and month: aggregates, see ``spec``), runs
the GX checkpoints on them, writes every expectation's outcome to
``compliance.validation_results`` (replacing the run's rows, so a retry is
harmless) and rebuilds the Data Docs. GX's own copies of results older than
``VC_HISTORY_DAYS``, and their pages, are removed first. A suite whose frame
cannot be computed is recorded as failed with the reason; the others still run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from voice_compliance import docs_site, retention, warehouse
from voice_compliance.airflow_names import VALIDATION_DAG
from voice_compliance.config import Settings
from voice_compliance.policy import Policy, load_policy
from voice_compliance.progress import emit
from voice_compliance.validation import frames, gx_project, results
from voice_compliance.validation.catalog import load_suites
from voice_compliance.validation.spec import SuiteSpec

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger(__name__)


class ValidationError(RuntimeError):
    """Validation cannot start: no marts, or a month outside the expected form."""


@dataclass(frozen=True)
class ValidationSummary:
    """What one ``validate`` call did."""

    run_id: str
    months: Sequence[str]
    suites: int
    expectations: int
    failed: int
    failed_suites: Sequence[str]
    data_docs: str
    seconds: float
    pruned_results: int = 0
    """Stored results of earlier runs removed as older than ``VC_HISTORY_DAYS``."""

    def as_dict(self) -> dict[str, object]:
        """A plain dict, for XCom and logs."""
        return {
            "run_id": self.run_id,
            "months": list(self.months),
            "suites": self.suites,
            "expectations": self.expectations,
            "failed": self.failed,
            "failed_suites": list(self.failed_suites),
            "data_docs": self.data_docs,
            "seconds": round(self.seconds, 1),
            "pruned_results": self.pruned_results,
        }


def gx_root(settings: Settings) -> Path:
    """The GX project (suites, results store, Data Docs) of this deployment."""
    return settings.data_dir / "gx"


def data_docs_index(settings: Settings) -> Path:
    """The Data Docs entry page."""
    return docs_site.data_docs_index(gx_root(settings))


def validate(
    settings: Settings,
    *,
    run_id: str,
    dag_id: str = VALIDATION_DAG,
    months: Sequence[str] | None = None,
    policy: Policy | None = None,
    suites: Sequence[SuiteSpec] | None = None,
) -> ValidationSummary:
    """Run every suite on ``months`` (default: every month in the marts or of an
    open ticket) and store the results."""
    started = time.monotonic()
    policy = policy or load_policy()
    suites = list(suites) if suites is not None else load_suites(policy, settings.expectations_dir)
    validated_at = datetime.now(UTC)
    outcomes: list[results.ExpectationOutcome] = []
    # One read-only connection for all frames, each computed just before GX
    # validates it and dropped after: one month's aggregate in memory at a time.
    with warehouse.open_warehouse(settings, read_only=True) as con:
        if not warehouse.table_exists(con, "compliance", "clause_outcomes"):
            raise ValidationError(
                f"no compliance.clause_outcomes in {settings.warehouse}: run the transform first"
            )
        chosen = sorted(set(months)) if months else frames.months_to_validate(con)
        for month in chosen:
            frames.month_bounds(month)  # validates the form
        project = gx_project.GxProject(gx_root(settings))
        failed_suites = 0
        for done, suite in enumerate(suites, start=1):
            project.register(suite)
            suite_outcomes: list[results.ExpectationOutcome] = []
            for month in chosen if suite.scope == "monthly" else [None]:
                suite_outcomes.extend(_validate_batch(con, project, suite, policy, month, run_id))
            outcomes.extend(suite_outcomes)
            failed_suites += any(not o.success for o in suite_outcomes)
            emit("validate", done=done, total=len(suites), suite=suite.name, failed=failed_suites)
    before = retention.cutoff(settings.history.keep_days)
    pruned = project.prune_results(before) if before else 0
    docs = project.build_docs()
    start = frames.month_bounds(chosen[0])[0] if chosen else None
    end = frames.month_bounds(chosen[-1])[1] if chosen else None
    run = results.RunRecord(run_id, dag_id, validated_at, chosen, start, end, str(docs))
    with warehouse.open_warehouse(settings) as con:
        results.store(con, run, outcomes)
    failed = [o for o in outcomes if not o.success]
    summary = ValidationSummary(
        run_id=run_id,
        months=chosen,
        suites=len({o.suite.name for o in outcomes}),
        expectations=len(outcomes),
        failed=len(failed),
        failed_suites=sorted({o.suite.name for o in failed}),
        data_docs=str(docs),
        seconds=time.monotonic() - started,
        pruned_results=pruned,
    )
    log.info("Validation %s: %s", run_id, summary.as_dict())
    return summary


def _validate_batch(
    con: duckdb.DuckDBPyConnection,
    project: gx_project.GxProject,
    suite: SuiteSpec,
    policy: Policy,
    month: str | None,
    run_id: str,
) -> list[results.ExpectationOutcome]:
    """The suite's outcomes on one frame; failed outcomes when the frame cannot be computed."""
    try:
        frame = frames.compute_frame(con, suite, policy, month)
    except frames.FrameError as exc:
        log.error("%s", exc)
        return [
            results.ExpectationOutcome.errored(suite, spec, month, str(exc))
            for spec in suite.expectations
        ]
    return project.run(suite, frame, run_name=f"{run_id} {month or 'all'}", month=month)
