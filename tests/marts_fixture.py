"""A hand-built warehouse with what the validation frames read.

The clause outcomes dbt would build (one compliant subject per clause, and
on demand one subject that breaks a clause with facts beyond the policy's
thresholds), the typed facts the clause suites read (``metric_clause_facts``,
``int_call_disclosures``), the staged calls and consent, the metrics and the
load manifest. Thresholds come from the policy file, as in production.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from voice_compliance import warehouse
from voice_compliance.policy import Policy, load_policy

__all__ = [
    "ACCOUNT",
    "DAY",
    "MONTH",
    "POLICY",
    "Outcome",
    "breaking",
    "build_warehouse",
    "clean_outcomes",
]

MONTH = "2026-10"
DAY = "2026-10-14"
ACCOUNT = "AC0000000000000000000000000000000a"
POLICY = load_policy()


@dataclass
class Outcome:
    """A row of ``compliance.clause_outcomes``."""

    clause_id: str
    subject_id: str
    is_violation: bool
    account_sid: str | None = ACCOUNT
    evidence: dict[str, Any] = field(default_factory=dict)
    subject_type: str = "call"


def clean_outcomes(p: Policy) -> list[Outcome]:
    """One compliant subject per clause, facts on the compliant side of each threshold."""
    number = {"number": "+14155550100", "month": MONTH}
    rows = [
        Outcome(c, f"CA{i:032x}", False)
        for i, c in enumerate(
            (
                "consent.prior_consent",
                "optout.mechanism",
                "optout.honored",
                "dnc.registry",
                "callerid.misleading",
                "country.calling_hours",
            )
        )
    ]
    at_limit = p.disclosure_max_offset_s
    rows.append(
        Outcome(
            "disclosure.identity_purpose",
            "CA" + "d" * 32,
            False,
            evidence={
                "has_disclosure_record": True,
                "identity_disclosed_at_s": at_limit,
                "purpose_disclosed_at_s": at_limit,
            },
        )
    )
    attempts = int(p.complaints_min_count * 1000 / p.complaints_max_per_1000)
    rows.append(
        Outcome(
            "complaints.rate",
            f"+14155550100/{MONTH}",
            False,
            evidence={
                **number,
                "complaints": p.complaints_min_count,
                "attempts": attempts,
                "complaints_per_1000": p.complaints_min_count * 1000 / attempts,
            },
            subject_type="number_month",
        )
    )
    unanswered = int(p.unanswered_min_attempts * p.unanswered_max_ratio)
    rows.append(
        Outcome(
            "unanswered.volume",
            f"+14155550100/{MONTH}",
            False,
            evidence={
                **number,
                "attempts": p.unanswered_min_attempts,
                "unanswered": unanswered,
                "unanswered_ratio": unanswered / p.unanswered_min_attempts,
            },
            subject_type="number_month",
        )
    )
    rows.append(
        Outcome(
            "duration.average",
            f"{ACCOUNT}/{MONTH}",
            False,
            evidence={
                "month": MONTH,
                "answered": p.acd_min_answered,
                "average_duration_s": p.acd_min_seconds,
            },
            subject_type="account_month",
        )
    )
    registry, max_age = next(iter(sorted(p.dnc_registry_max_age_days.items())))
    rows.append(
        Outcome(
            "dnc.registry_freshness",
            # Not the broken subject's day: a (clause, subject) is one outcome, as in dbt.
            f"{registry}/{MONTH}-01",
            False,
            account_sid=None,
            evidence={"registry": registry, "age_days": max_age},
            subject_type="registry_day",
        )
    )
    rows.append(
        Outcome(
            "cps.multi_region",
            f"{ACCOUNT}/{DAY}",
            False,
            evidence={"episodes_started": 0, "max_concurrent_hot_in_window": _window_buckets(p)},
            subject_type="account_day",
        )
    )
    return rows


def _window_buckets(p: Policy) -> int:
    return p.cps_max_concurrent_hot_hours * 3600 // p.cps_bucket_seconds


def breaking(clause_id: str, p: Policy) -> Outcome:
    """One subject that breaks ``clause_id`` (and its threshold, where it has one)."""
    number = {"number": "+14155550199", "month": MONTH}
    over: dict[str, tuple[dict[str, Any], str, str | None]] = {
        "disclosure.identity_purpose": (
            {
                "has_disclosure_record": True,
                "identity_disclosed_at_s": 1,
                "purpose_disclosed_at_s": p.disclosure_max_offset_s + 1,
            },
            "call",
            ACCOUNT,
        ),
        "complaints.rate": (
            {
                **number,
                "complaints": p.complaints_min_count,
                "attempts": 400,
                "complaints_per_1000": p.complaints_min_count * 1000 / 400,
            },
            "number_month",
            ACCOUNT,
        ),
        "unanswered.volume": (
            {
                **number,
                "attempts": p.unanswered_min_attempts,
                "unanswered": int(p.unanswered_min_attempts * p.unanswered_max_ratio) + 1,
                "unanswered_ratio": (int(p.unanswered_min_attempts * p.unanswered_max_ratio) + 1)
                / p.unanswered_min_attempts,
            },
            "number_month",
            ACCOUNT,
        ),
        "duration.average": (
            {"month": MONTH, "answered": p.acd_min_answered, "average_duration_s": 1.0},
            "account_month",
            "AC" + "b" * 32,
        ),
        "dnc.registry_freshness": (
            {"registry": "ca_dncl", "age_days": p.dnc_registry_max_age_days["ca_dncl"] + 1},
            "registry_day",
            None,
        ),
        "cps.multi_region": (
            {"episodes_started": 1, "max_concurrent_hot_in_window": _window_buckets(p) + 1},
            "account_day",
            "AC" + "c" * 32,
        ),
    }
    evidence, subject_type, account = over.get(clause_id, ({}, "call", ACCOUNT))
    subject = {
        "number_month": f"{number['number']}/{MONTH}",
        "account_month": f"{account}/{MONTH}",
        "account_day": f"{account}/{DAY}",
        "registry_day": f"ca_dncl/{DAY}",
    }.get(subject_type, "CA" + "f" * 32)
    return Outcome(clause_id, subject, True, account, evidence, subject_type)


FACTS = {
    "number_e164": ("number", "varchar"),
    "metric_month": ("month", "varchar"),
    "registry": ("registry", "varchar"),
    "attempts": ("attempts", "bigint"),
    "answered": ("answered", "bigint"),
    "unanswered": ("unanswered", "bigint"),
    "unanswered_ratio": ("unanswered_ratio", "double"),
    "complaints": ("complaints", "integer"),
    "complaints_per_1000": ("complaints_per_1000", "double"),
    "average_duration_s": ("average_duration_s", "double"),
    "age_days": ("age_days", "integer"),
    "max_age_days": ("max_age_days", "integer"),
    "newest_file_date": ("newest_file_date", "date"),
    "episodes_started": ("episodes_started", "integer"),
    "max_concurrent_hot_in_window": ("max_concurrent_hot_in_window", "integer"),
}
FACTS_SQL = (
    "select clause_id, subject_id, "
    + ", ".join(
        f"cast(json_extract_string(evidence, '$.{key}') as {type_}) as {column}"
        for column, (key, type_) in FACTS.items()
    )
    + " from compliance.clause_outcomes where clause_id in ('complaints.rate',"
    " 'unanswered.volume', 'duration.average', 'dnc.registry_freshness', 'cps.multi_region')"
)
"""``metrics.metric_clause_facts`` as dbt builds it, from the hand-built outcomes."""
DISCLOSURES_SQL = (
    "select subject_id as call_sid, account_sid,"
    " cast(evidence->>'has_disclosure_record' as boolean) as has_disclosure_record,"
    " cast(evidence->>'identity_disclosed_at_s' as double) as identity_disclosed_at_s,"
    " cast(evidence->>'purpose_disclosed_at_s' as double) as purpose_disclosed_at_s"
    " from compliance.clause_outcomes where clause_id = 'disclosure.identity_purpose'"
)
"""The columns of ``intermediate.int_call_disclosures`` the disclosure suite reads."""
VIOLATION_NUMBERS_SQL = """
select clause_id, subject_id, account_sid, period_start, severity,
    case when subject_type = 'number_month' then split_part(subject_id, '/', 1)
        else coalesce(json_extract_string(evidence, '$.from_e164'),
            json_extract_string(evidence, '$.callee')) end as number_e164,
    case when subject_type = 'number_month'
            or json_extract_string(evidence, '$.from_e164') is not null
        then 'originating' else 'called' end as number_role
from compliance.clause_outcomes
where is_violation and number_e164 is not null
"""
"""``metrics.metric_violation_numbers`` as dbt builds it, from the hand-built outcomes."""


def build_warehouse(path: Path, outcomes: list[Outcome], **broken: bool) -> None:
    """The tables the frames read, with ``outcomes`` and clean data-quality inputs."""
    with warehouse.connect(path) as con:
        for schema in ("staging", "metrics"):
            con.execute(f"create schema if not exists {schema}")
        con.execute(
            "create table compliance.clause_outcomes (clause_id varchar, subject_type varchar,"
            " subject_id varchar, account_sid varchar, period_start date, is_violation boolean,"
            " severity varchar, evidence json)"
        )
        for o in outcomes:
            con.execute(
                "insert into compliance.clause_outcomes values (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    o.clause_id,
                    o.subject_type,
                    o.subject_id,
                    o.account_sid,
                    DAY,
                    o.is_violation,
                    POLICY.clause(o.clause_id).severity,
                    json.dumps(o.evidence),
                ],
            )
        # The typed facts dbt builds from the same subjects: metric_clause_facts
        # (the marts' recorded figures, cast) and the disclosure calls.
        con.execute("create schema if not exists intermediate")
        con.execute(f"create table metrics.metric_clause_facts as {FACTS_SQL}")
        con.execute(f"create table intermediate.int_call_disclosures as {DISCLOSURES_SQL}")
        con.execute(f"create view metrics.metric_violation_numbers as {VIOLATION_NUMBERS_SQL}")
        # What dbt's clause_summary says of these outcomes (one row per clause and month).
        con.execute(
            "create view compliance.clause_summary as select clause_id,"
            " strftime(period_start, '%Y-%m') as month, count(*) as subjects_checked,"
            " count(*) filter (where is_violation) as violations, any_value(severity) as severity"
            " from compliance.clause_outcomes group by all"
        )
        sids = ["CA1", "CA1"] if broken.get("duplicate_sid") else ["CA1", "CA2"]
        valid = "false" if broken.get("invalid_callee") else "true"
        con.execute(
            "create table staging.stg_twilio__calls as select unnest(?) as call_sid,"
            f" 'outbound-api' as direction, {valid} as to_is_valid,"
            " timestamptz '2026-10-14 12:00:00+00' as started_at",
            [sids],
        )
        unclassified = 1 if broken.get("unclassified") else 0
        con.execute(
            "create table metrics.metric_unclassified_calls as select ? as account_sid,"
            " ? as metric_month, date '2026-10-01' as month_start, 100 as attempts,"
            " ? as unclassified_attempts, ? / 100.0 as unclassified_share",
            [ACCOUNT, MONTH, unclassified, unclassified],
        )
        coverage = "missing" if broken.get("registry_missing") else "covered"
        con.execute(
            "create table metrics.metric_registry_coverage as select 'US' as callee_country,"
            " ? as coverage_status, null as registries_never_loaded, 10 as telemarketing_calls",
            [coverage],
        )
        granted = "now() + interval 1 day" if broken.get("future_consent") else "now()"
        con.execute(
            f"create table staging.stg_exports__consent as select {granted} as granted_at,"
            " cast(null as timestamptz) as revoked_at"
        )
        quarantined = 0 if broken.get("unreconciled") else 1
        con.execute(
            "insert into compliance.load_manifest values ('f1', 'calls', 'calls/a.csv',"
            " 'calls/a.csv', null, 10, 'x', 'y', 'partial', null, 10, 9, ?, 1, now())",
            [quarantined],
        )
        unknown = 1 if broken.get("unknown_tz") else 0
        con.execute(
            "create table metrics.metric_calling_hours_unknown_tz as select 10 as"
            " telemarketing_attempts, ? as unknown_tz_calls, 0 as invalid_callee_calls,"
            " ? as unmapped_zone_calls",
            [unknown, unknown],
        )
        con.execute(
            "create table metrics.metric_cps_unallotted_regions (account_sid varchar,"
            " home_region varchar, metric_month varchar, attempts bigint)"
        )
        if broken.get("unallotted"):
            con.execute(
                "insert into metrics.metric_cps_unallotted_regions values (?, 'au1', ?, 5)",
                [ACCOUNT, MONTH],
            )


def ticket_row(
    clause_id: str,
    account: str | None,
    status: str,
    *,
    at: datetime,
    owner: str,
    severity: str = "high",
    violations: int = 1,
    examples: tuple[str, ...] = (),
    reopen_count: int = 0,
    month: str = MONTH,
) -> dict[str, Any]:
    """A row of ``compliance.tickets`` (``store.insert_ticket``) of ``month``,
    opened at ``at`` (and resolved then, when ``status`` is ``resolved``)."""
    from voice_compliance.tickets import store

    noun = "violation" if violations == 1 else "violations"
    return {
        "fingerprint": store.fingerprint(clause_id, account, month),
        "clause_id": clause_id,
        "account_sid": account,
        "month": month,
        "severity": severity,
        "owner": owner,
        "status": status,
        "title": f"{clause_id}: {violations} {noun}",
        "violation_count": violations,
        "example_subjects": list(examples),
        "evidence_query": "select 1",
        "first_seen_at": at,
        "last_seen_at": at,
        "opened_at": at,
        "resolved_at": at if status == "resolved" else None,
        "reopen_count": reopen_count,
        "last_run_id": "run-1",
        "updated_at": at,
    }
