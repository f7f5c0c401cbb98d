"""What one month's compliance report says, read from the warehouse.

Every figure comes from a mart or the tickets table, with no threshold or
count computed anew in Python:

* violations per clause, severity and month: ``compliance.clause_summary``
  (subjects checked, violations, the thresholds in force that month);
* the violations per account: ``compliance.policy_violations`` (or, on a
  warehouse where only the outcomes were built, the violating rows of
  ``compliance.clause_outcomes``: the same rows by definition); per phone
  number: ``metrics.metric_violation_numbers`` (the number each violation
  is about, and its role);
* complaint rates, unanswered shares and registry ages: the typed facts dbt
  cast from the marts (``metrics.metric_clause_facts``) of every subject
  those clauses judged, compliant or not, joined to its outcome;
* registry coverage: ``metrics.metric_registry_coverage``;
* tickets: ``compliance.tickets`` (``dq.*`` tickets have no account).

Values that may hold a phone number are masked here, before any template
or chart sees them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import yaml

from voice_compliance import warehouse
from voice_compliance.masking import mask_text
from voice_compliance.policy import CLAUSE_IDS, policy_path

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
TREND_MONTHS = 12
"""Months shown in the trend charts (the report's month and the 11 before)."""
TOP = 10
"""Rows of the top numbers and top accounts tables."""
_SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}


class ReportDataError(Exception):
    """The warehouse lacks what the report is built from (the transform has not run)."""


@dataclass(frozen=True)
class ClauseRow:
    """One clause in the report's month."""

    clause_id: str
    severity: str
    owner: str
    subjects_checked: int
    violations: int
    previous_violations: int | None
    thresholds: dict[str, Any]
    tickets_open: int = 0
    tickets_resolved: int = 0

    @property
    def change(self) -> int | None:
        """Violations minus the previous month's (``None`` for the first month)."""
        if self.previous_violations is None:
            return None
        return self.violations - self.previous_violations


@dataclass(frozen=True)
class Distribution:
    """A per-subject ratio of one clause against its threshold: every subject
    the clause judged that month, each with its outcome.

    ``points`` holds ``(value, is_violation)`` of the judged subjects that have
    a value; ``judged`` counts every outcome (with or without a value), so it
    equals the clause's subjects checked. ``rule`` states the clause's gates
    with the settings in force (``policy.yml``, as ``clause_summary`` recorded
    them): a compliant subject may lie right of the threshold (under a
    minimum count) and a violator left of it (over a maximum count).
    """

    clause_id: str
    label: str
    threshold: float | None
    threshold_label: str
    points: list[tuple[float, bool]]
    judged: int
    violations: int
    rule: str = ""
    no_value_label: str = ""

    @property
    def values(self) -> list[float]:
        return [value for value, _ in self.points]

    @property
    def checked(self) -> int:
        """Subjects the clause judged (its outcomes), plotted or not."""
        return self.judged

    @property
    def unplotted(self) -> int:
        """Judged subjects without a value (not in the chart)."""
        return self.judged - len(self.points)

    @property
    def unplotted_violations(self) -> int:
        """Violations among the judged subjects without a value."""
        return self.violations - sum(1 for _, violation in self.points if violation)

    def quantile(self, q: float) -> float | None:
        if not self.points:
            return None
        ordered = sorted(self.values)
        return ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1) + 0.5))]


@dataclass
class MonthData:
    """Everything one month's report shows."""

    month: str
    months: list[str]
    generated_at: datetime
    clauses: list[ClauseRow]
    trend: list[dict[str, Any]]
    top_numbers: list[dict[str, Any]]
    top_accounts: list[dict[str, Any]]
    distributions: list[Distribution]
    coverage: list[dict[str, Any]]
    freshness: list[dict[str, Any]]
    tickets: list[dict[str, Any]]
    ticket_totals: dict[str, int] = field(default_factory=dict)
    validation_runs: dict[str, str] = field(default_factory=dict)
    """``{suite: run_id}``: the newest validation run that validated the suite for the month."""

    @property
    def previous_month(self) -> str | None:
        earlier = [m for m in self.months if m < self.month]
        return earlier[-1] if earlier else None

    @property
    def total_violations(self) -> int:
        return sum(c.violations for c in self.clauses)

    @property
    def total_checked(self) -> int:
        return sum(c.subjects_checked for c in self.clauses)

    @property
    def previous_total(self) -> int | None:
        changes = [c.previous_violations for c in self.clauses]
        return None if self.previous_month is None else sum(v or 0 for v in changes)

    @property
    def clauses_with_violations(self) -> int:
        return sum(1 for c in self.clauses if c.violations)

    def severity_totals(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for c in self.clauses:
            totals[c.severity] = totals.get(c.severity, 0) + c.violations
        return dict(sorted(totals.items(), key=lambda kv: _SEVERITY_RANK.get(kv[0], 9)))


def check_month(month: str) -> str:
    """``month`` if it is ``YYYY-MM``, else ``ValueError``."""
    if not MONTH.match(month):
        raise ValueError(f"month must be YYYY-MM, not {month!r}")
    return month


def months_in_marts(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every month ``compliance.clause_summary`` holds, oldest first."""
    _require(con, "compliance", "clause_summary")
    return [
        str(m)
        for (m,) in con.execute(
            "select distinct month from compliance.clause_summary"
            " where month is not null order by 1"
        ).fetchall()
    ]


def _require(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> None:
    if not warehouse.table_exists(con, schema, table):
        raise ReportDataError(f"no {schema}.{table} in the warehouse: run the transform first")


def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> set[str]:
    rows = con.execute(
        "select column_name from information_schema.columns where table_schema = ?"
        " and table_name = ?",
        [schema, table],
    ).fetchall()
    return {r[0] for r in rows}


def _policy_document(path: Path | None = None) -> dict[str, Any]:
    document = yaml.safe_load(policy_path(path).read_text(encoding="utf-8"))
    return document if isinstance(document, dict) else {}


def read_month(
    con: duckdb.DuckDBPyConnection,
    month: str,
    *,
    now: datetime,
    policy_file: Path | None = None,
) -> MonthData:
    """Read everything ``month``'s report shows from an open warehouse."""
    check_month(month)
    months = months_in_marts(con)
    if month not in months:
        raise ReportDataError(
            f"no month {month} in compliance.clause_summary"
            f" (it holds {', '.join(months) or 'no month'})"
        )
    document = _policy_document(policy_file)
    shown = [m for m in months if m <= month][-TREND_MONTHS:]
    tickets = _tickets(con, month)
    clauses = _clauses(con, month, shown, document, tickets)
    return MonthData(
        month=month,
        months=months,
        generated_at=now,
        clauses=clauses,
        trend=_trend(con, shown, document),
        top_numbers=_top_numbers(con, month),
        top_accounts=_top_accounts(con, month),
        distributions=_distributions(con, month, document),
        coverage=_coverage(con),
        freshness=_freshness(con, month, document),
        tickets=tickets,
        ticket_totals=_ticket_totals(con),
        validation_runs=_validation_runs(con, month),
    )


def _clauses(
    con: duckdb.DuckDBPyConnection,
    month: str,
    shown: list[str],
    document: dict[str, Any],
    tickets: list[dict[str, Any]],
) -> list[ClauseRow]:
    columns = _columns(con, "compliance", "clause_summary")
    thresholds_col = "thresholds::varchar" if "thresholds" in columns else "null"
    owner_col = "owner" if "owner" in columns else "null"
    previous = shown[-2] if len(shown) > 1 else None
    rows = con.execute(
        f"""
        select clause_id, month, any_value(severity), any_value({owner_col}),
            sum(subjects_checked)::bigint, sum(violations)::bigint, any_value({thresholds_col})
        from compliance.clause_summary
        where month in (?, ?)
        group by clause_id, month
        """,
        [month, previous or month],
    ).fetchall()
    current = {r[0]: r for r in rows if r[1] == month}
    before = {r[0]: int(r[5]) for r in rows if r[1] == previous}
    configured = document.get("clauses") or {}
    ticket_counts: dict[str, dict[str, int]] = {}
    for t in tickets:
        counts = ticket_counts.setdefault(t["clause_id"], {"open": 0, "resolved": 0})
        counts[t["status"]] = counts.get(t["status"], 0) + 1
    result = []
    ids = list(CLAUSE_IDS) + sorted(set(current) - set(CLAUSE_IDS))
    for clause_id in ids:
        row = current.get(clause_id)
        conf = configured.get(clause_id) or {}
        thresholds = json.loads(row[6]) if row and row[6] else _settings(document, clause_id)
        result.append(
            ClauseRow(
                clause_id=clause_id,
                severity=str((row and row[2]) or conf.get("severity") or "-"),
                owner=str((row and row[3]) or conf.get("owner") or "-"),
                subjects_checked=int(row[4]) if row else 0,
                violations=int(row[5]) if row else 0,
                previous_violations=before.get(clause_id, 0) if previous else None,
                thresholds=thresholds,
                tickets_open=ticket_counts.get(clause_id, {}).get("open", 0),
                tickets_resolved=ticket_counts.get(clause_id, {}).get("resolved", 0),
            )
        )
    return result


def _settings(document: dict[str, Any], clause_id: str) -> dict[str, Any]:
    """The clause's settings as ``policy.yml`` holds them now (when the mart
    does not record the ones in force)."""
    names = ((document.get("clauses") or {}).get(clause_id) or {}).get("settings") or []
    return {name: document.get(name) for name in names}


def _trend(
    con: duckdb.DuckDBPyConnection, shown: list[str], document: dict[str, Any]
) -> list[dict[str, Any]]:
    rows = con.execute(
        """
        select month, clause_id, any_value(severity), sum(violations)::bigint
        from compliance.clause_summary
        where month in (select unnest(?::varchar[]))
        group by month, clause_id
        order by month, clause_id
        """,
        [shown],
    ).fetchall()
    return [
        {"month": m, "clause_id": c, "severity": s or "-", "violations": int(v)}
        for m, c, s, v in rows
    ]


def _violations_relation(con: duckdb.DuckDBPyConnection) -> str:
    if warehouse.table_exists(con, "compliance", "policy_violations"):
        return "compliance.policy_violations"
    _require(con, "compliance", "clause_outcomes")
    return "(select * from compliance.clause_outcomes where is_violation)"


def _top_numbers(con: duckdb.DuckDBPyConnection, month: str) -> list[dict[str, Any]]:
    """Numbers with the most violations: originating numbers (number-month
    subjects, misleading caller IDs) and called numbers (per call)."""
    _require(con, "metrics", "metric_violation_numbers")
    rows = con.execute(
        f"""
        select number_e164, number_role, count(*)::bigint as violations,
            string_agg(distinct clause_id, ', ' order by clause_id) as clauses
        from metrics.metric_violation_numbers
        where strftime(period_start, '%Y-%m') = ?
        group by number_e164, number_role
        order by violations desc, number_e164
        limit {TOP}
        """,
        [month],
    ).fetchall()
    return [
        {"number": mask_text(str(n)), "role": r, "violations": int(v), "clauses": c}
        for n, r, v, c in rows
    ]


def _top_accounts(con: duckdb.DuckDBPyConnection, month: str) -> list[dict[str, Any]]:
    rows = con.execute(
        f"""
        select account_sid, count(*)::bigint as violations,
            count(*) filter (where severity = 'critical')::bigint as critical,
            string_agg(distinct clause_id, ', ' order by clause_id) as clauses
        from {_violations_relation(con)}
        where strftime(period_start, '%Y-%m') = ? and account_sid is not null
        group by account_sid
        order by violations desc, account_sid
        limit {TOP}
        """,
        [month],
    ).fetchall()
    return [
        {"account_sid": mask_text(str(a)), "violations": int(v), "critical": int(k), "clauses": c}
        for a, v, k, c in rows
    ]


@dataclass(frozen=True)
class _Ratio:
    """A clause whose per-subject ratio the report draws against its threshold."""

    clause_id: str
    column: str
    """The ratio's column of ``metrics.metric_clause_facts``."""
    label: str
    threshold: str
    """The setting the ratio is compared with (the red line)."""
    settings: tuple[str, ...]
    """Every setting the clause's rule names, ``rule`` formats them by name."""
    rule: str
    no_value: str
    """What a judged subject without a ratio is (it is not plotted)."""


_RATIOS = (
    _Ratio(
        "complaints.rate",
        "complaints_per_1000",
        "Complaints per 1,000 attempts, per originating number",
        "complaints_max_per_1000",
        ("complaints_min_count", "complaints_max_per_1000"),
        "Every originating number with outbound attempts or complaints in the month is judged."
        " It violates when it has at least {complaints_min_count} complaints"
        " (complaints_min_count) and more than {complaints_max_per_1000} per 1,000 attempts"
        " (complaints_max_per_1000): a number right of the line with fewer complaints is"
        " compliant. With complaints and no attempts, the rate counts as exceeded.",
        "complaints and no attempts",
    ),
    _Ratio(
        "unanswered.volume",
        "unanswered_ratio",
        "Unanswered share of attempts, per originating number",
        "unanswered_max_ratio",
        ("unanswered_min_attempts", "unanswered_max_ratio", "unanswered_max_count"),
        "Only originating numbers with at least {unanswered_min_attempts} outbound attempts"
        " (unanswered_min_attempts) are judged. One violates when its unanswered share exceeds"
        " {unanswered_max_ratio} (unanswered_max_ratio; exactly {unanswered_max_ratio} is"
        " compliant) or, whatever the share, when it has at least {unanswered_max_count}"
        " unanswered attempts (unanswered_max_count): such a violator may lie left of the line.",
        "no unanswered share",
    ),
)


def _format_setting(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return "–" if value is None else str(value).lower()
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return f"{int(value):,}"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


# The outcomes of one clause and month (parameters), each with its typed facts.
_OUTCOME_FACTS = """
from compliance.clause_outcomes as outcomes
left join metrics.metric_clause_facts as facts
    on facts.clause_id = outcomes.clause_id and facts.subject_id = outcomes.subject_id
where outcomes.clause_id = ? and strftime(outcomes.period_start, '%Y-%m') = ?
"""


def _distributions(
    con: duckdb.DuckDBPyConnection, month: str, document: dict[str, Any]
) -> list[Distribution]:
    _require(con, "compliance", "clause_outcomes")
    _require(con, "metrics", "metric_clause_facts")
    result = []
    for ratio in _RATIOS:
        rows = con.execute(
            f"""
            select facts.{ratio.column}, outcomes.is_violation
            {_OUTCOME_FACTS}
            """,
            [ratio.clause_id, month],
        ).fetchall()
        settings = {
            name: _setting_in_force(con, ratio.clause_id, month, name, document)
            for name in ratio.settings
        }
        value = settings.get(ratio.threshold)
        threshold = float(value) if isinstance(value, int | float) else None
        result.append(
            Distribution(
                clause_id=ratio.clause_id,
                label=ratio.label,
                threshold=threshold,
                threshold_label=(
                    f"{ratio.threshold} = {threshold:g}" if threshold is not None else ""
                ),
                points=[(float(v), bool(violation)) for v, violation in rows if v is not None],
                judged=len(rows),
                violations=sum(1 for _, violation in rows if violation),
                rule=ratio.rule.format(
                    **{name: _format_setting(v) for name, v in settings.items()}
                ),
                no_value_label=ratio.no_value,
            )
        )
    return result


def _setting_in_force(
    con: duckdb.DuckDBPyConnection,
    clause_id: str,
    month: str,
    setting: str,
    document: dict[str, Any],
) -> Any:
    """The setting in force that month (``clause_summary.thresholds``), else policy.yml's."""
    if "thresholds" in _columns(con, "compliance", "clause_summary"):
        row = con.execute(
            "select any_value(thresholds::varchar) from compliance.clause_summary"
            " where clause_id = ? and month = ?",
            [clause_id, month],
        ).fetchone()
        if row and row[0]:
            recorded = json.loads(row[0])
            if isinstance(recorded, dict) and setting in recorded:
                return recorded[setting]
    return document.get(setting)


def _coverage(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    if not warehouse.table_exists(con, "metrics", "metric_registry_coverage"):
        return []
    columns = _columns(con, "metrics", "metric_registry_coverage")
    wanted = [
        "callee_country",
        "coverage_status",
        "registries_expected",
        "registries_loaded",
        "registries_never_loaded",
        "telemarketing_calls",
    ]
    select = ", ".join(c if c in columns else f"null as {c}" for c in wanted)
    rows = con.execute(
        f"select {select} from metrics.metric_registry_coverage"
        " order by coverage_status = 'covered', callee_country"
    ).fetchall()
    return [dict(zip(wanted, row, strict=True)) for row in rows]


def _freshness(
    con: duckdb.DuckDBPyConnection, month: str, document: dict[str, Any]
) -> list[dict[str, Any]]:
    """Per registry, over the days of ``month`` it was checked: days, stale days,
    the oldest age seen against the maximum allowed, the newest file loaded."""
    _require(con, "metrics", "metric_clause_facts")
    rows = con.execute(
        f"""
        select
            coalesce(facts.registry, split_part(outcomes.subject_id, '/', 1)) as registry,
            count(*)::bigint as days_checked,
            count(*) filter (where outcomes.is_violation)::bigint as stale_days,
            max(facts.age_days) as max_age_days,
            max(facts.max_age_days) as allowed_days,
            strftime(max(facts.newest_file_date), '%Y-%m-%d') as newest_file_date
        {_OUTCOME_FACTS}
        group by 1
        """,
        ["dnc.registry_freshness", month],
    ).fetchall()
    limits = document.get("dnc_registry_max_age_days") or {}
    seen = {r[0]: r for r in rows}
    result = []
    for registry in sorted(set(seen) | set(limits)):
        row = seen.get(registry)
        result.append(
            {
                "registry": registry,
                "days_checked": int(row[1]) if row else 0,
                "stale_days": int(row[2]) if row else 0,
                "max_age_days": row[3] if row else None,
                "allowed_days": (row[4] if row and row[4] is not None else limits.get(registry)),
                "newest_file_date": row[5] if row else None,
            }
        )
    return result


def _tickets(con: duckdb.DuckDBPyConnection, month: str) -> list[dict[str, Any]]:
    """The tickets of ``month`` (open and resolved), data-quality ones included."""
    if not warehouse.table_exists(con, "compliance", "tickets"):
        return []
    rows = con.execute(
        """
        select fingerprint, clause_id, account_sid, status, severity, owner,
            violation_count, opened_at, resolved_at, reopen_count, external_key
        from compliance.tickets
        where month = ?
        order by status = 'open' desc, clause_id like 'dq.%', clause_id, account_sid nulls first
        """,
        [month],
    ).fetchall()
    keys = (
        "fingerprint",
        "clause_id",
        "account_sid",
        "status",
        "severity",
        "owner",
        "violation_count",
        "opened_at",
        "resolved_at",
        "reopen_count",
        "external_key",
    )
    result = []
    for row in rows:
        ticket = dict(zip(keys, row, strict=True))
        ticket["kind"] = "data quality" if str(ticket["clause_id"]).startswith("dq.") else "clause"
        for name in ("opened_at", "resolved_at"):
            ticket[name] = _day(ticket[name])
        ticket["account_sid"] = mask_text(ticket["account_sid"]) if ticket["account_sid"] else None
        result.append(ticket)
    return result


def _validation_runs(con: duckdb.DuckDBPyConnection, month: str) -> dict[str, str]:
    """``{suite: run_id}`` of the newest run that validated each suite for ``month``
    (``compliance.validation_results``; empty before the first validation)."""
    if not warehouse.table_exists(con, "compliance", "validation_results"):
        return {}
    rows = con.execute(
        "select suite, arg_max(run_id, validated_at) from compliance.validation_results"
        " where month = ? group by suite",
        [month],
    ).fetchall()
    return {str(suite): str(run_id) for suite, run_id in rows}


def _ticket_totals(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Tickets of every month: open and resolved."""
    if not warehouse.table_exists(con, "compliance", "tickets"):
        return {"open": 0, "resolved": 0}
    rows = dict(
        con.execute("select status, count(*) from compliance.tickets group by 1").fetchall()
    )
    return {"open": int(rows.get("open", 0)), "resolved": int(rows.get("resolved", 0))}


def _day(value: Any) -> str | None:
    if isinstance(value, datetime | date):
        return value.strftime("%Y-%m-%d")
    return None if value is None else str(value)[:10]
