"""One Great Expectations suite per clause of the Twilio Voice Services Policy.

Each suite reads a frame aggregated from ``compliance.clause_outcomes`` (the
union of the twelve clause marts dbt builds) for one month, and holds:

* the **ticketing expectation**: ``violations`` is 0 on every row. Its
  unexpected rows, keyed by ``(account_key, month)``, are the failing
  ``(clause_id, account, month)`` groups: one ticket each.
* for clauses judged on numbers, the **policy thresholds** themselves,
  re-stated from ``policy.yml`` over typed columns dbt built (complaints per
  1,000 attempts, unanswered share and count, average duration, registry
  age, concurrent-hot minutes from ``metrics.metric_clause_facts``;
  disclosure offsets from ``intermediate.int_call_disclosures``), joined to
  the outcomes by subject. No frame unpacks the marts' ``evidence`` JSON.
  They fail together with the ticketing expectation and show in the Data
  Docs *why* a group failed, with the threshold in force.

Every expectation carries ``clause_id``, ``severity`` and ``owner`` (from
the clause registry of ``policy.yml``) in ``meta``. No threshold is written
here: each comes from the ``Policy`` object. Phone numbers never enter a
frame in full (``subject_key`` keeps the last four digits).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from voice_compliance.policy import CLAUSE_IDS, Policy
from voice_compliance.validation.spec import TICKET_KEY_COLUMNS, ExpectationSpec, SuiteSpec

SUITE_PREFIX = "clause."

# Aggregate per account and month: the frame of clauses judged per call;
# ``{join}`` adds the typed model of the calls' facts, if any.
_PER_ACCOUNT_MONTH = """
select
    coalesce(outcomes.account_sid, '-') as account_key,
    strftime(outcomes.period_start, '%Y-%m') as month,
    count(*) as subjects_checked,
    count(*) filter (where outcomes.is_violation) as violations{extra}
from compliance.clause_outcomes as outcomes{join}
where outcomes.clause_id = '{clause_id}'
    and outcomes.period_start >= $month_start and outcomes.period_start < $month_end
group by all
order by all
"""

# One row per subject for clauses judged per number-month, account-month,
# registry-day or account-day: bounded by numbers, accounts and days, not
# calls. Their facts are the typed columns of metrics.metric_clause_facts.
_PER_SUBJECT = """
select
    coalesce(outcomes.account_sid, '-') as account_key,
    strftime(outcomes.period_start, '%Y-%m') as month,
    {subject_key} as subject_key,
    1 as subjects_checked,
    case when outcomes.is_violation then 1 else 0 end as violations,
    {facts}
from compliance.clause_outcomes as outcomes
left join metrics.metric_clause_facts as facts
    on facts.clause_id = outcomes.clause_id and facts.subject_id = outcomes.subject_id
where outcomes.clause_id = '{clause_id}'
    and outcomes.period_start >= $month_start and outcomes.period_start < $month_end
order by all
"""

_DISCLOSURES = """
left join intermediate.int_call_disclosures as calls on calls.call_sid = outcomes.subject_id"""

_MASKED_NUMBER = "'***' || right(facts.number_e164, 4) || '/' || facts.metric_month"


def _meta(policy: Policy, clause_id: str, **extra: Any) -> dict[str, Any]:
    clause = policy.clause(clause_id)
    return {"clause_id": clause_id, "severity": clause.severity, "owner": clause.owner, **extra}


def _gx_severity(severity: str) -> str:
    """GX's own severity (critical / warning / info) for a policy severity."""
    return {"critical": "critical", "high": "critical", "medium": "warning"}.get(severity, "info")


def _expect(
    policy: Policy,
    clause_id: str,
    type_: str,
    description: str,
    *,
    ticketing: bool = False,
    key: str | None = None,
    when: str | None = None,
    **kwargs: Any,
) -> ExpectationSpec:
    """An expectation of ``clause_id``; ``when`` limits it to the rows matching a
    pandas condition (GX's ``row_condition``)."""
    meta = _meta(policy, clause_id, **({"expectation_key": key} if key else {}))
    if when is not None:
        kwargs.update(row_condition=when, condition_parser="pandas")
    kwargs.setdefault("severity", _gx_severity(meta["severity"]))
    return ExpectationSpec(type_, kwargs, meta, description, ticketing=ticketing)


def _no_violations(policy: Policy, clause_id: str) -> ExpectationSpec:
    return _expect(
        policy,
        clause_id,
        "ExpectColumnValuesToBeBetween",
        f"No subject breaks {clause_id}: every (account, month) has 0 violations.",
        ticketing=True,
        column="violations",
        min_value=0,
        max_value=0,
    )


def _suite(
    policy: Policy,
    clause_id: str,
    description: str,
    frame_sql: str,
    thresholds: Sequence[ExpectationSpec] = (),
    key_columns: Sequence[str] = TICKET_KEY_COLUMNS,
) -> SuiteSpec:
    return SuiteSpec(
        name=SUITE_PREFIX + clause_id,
        kind="clause",
        description=description,
        frame_sql=frame_sql,
        scope="monthly",
        key_columns=key_columns,
        expectations=(_no_violations(policy, clause_id), *thresholds),
        clause_id=clause_id,
        meta=_meta(policy, clause_id),
    )


def _per_account_month(
    clause_id: str, extra: Mapping[str, str] | None = None, join: str = ""
) -> str:
    columns = "".join(f",\n    {sql} as {name}" for name, sql in (extra or {}).items())
    return _PER_ACCOUNT_MONTH.format(clause_id=clause_id, extra=columns, join=join)


def _per_subject_suite(
    policy: Policy,
    clause_id: str,
    description: str,
    subject_key: str,
    facts: Mapping[str, str],
    thresholds: Sequence[ExpectationSpec],
) -> SuiteSpec:
    """A suite over one row per subject, with ``facts`` (columns of
    ``metrics.metric_clause_facts``, as ``facts.<column>``)."""
    columns = ",\n    ".join(f"{sql} as {name}" for name, sql in facts.items())
    frame = _PER_SUBJECT.format(clause_id=clause_id, subject_key=subject_key, facts=columns)
    return _suite(
        policy,
        clause_id,
        description,
        frame,
        thresholds,
        key_columns=(*TICKET_KEY_COLUMNS, "subject_key"),
    )


def _call_clause(policy: Policy, clause_id: str, description: str) -> SuiteSpec:
    return _suite(policy, clause_id, description, _per_account_month(clause_id))


def _count_where(condition: str) -> str:
    return f"count(*) filter (where {condition})"


def _disclosure(policy: Policy) -> SuiteSpec:
    clause_id = "disclosure.identity_purpose"
    limit = policy.disclosure_max_offset_s
    frame = _per_account_month(
        clause_id,
        {
            "calls_without_record": _count_where("not calls.has_disclosure_record"),
            "identity_missing": _count_where("calls.identity_disclosed_at_s is null"),
            "purpose_missing": _count_where("calls.purpose_disclosed_at_s is null"),
            "max_identity_offset_s": "cast(max(calls.identity_disclosed_at_s) as double)",
            "max_purpose_offset_s": "cast(max(calls.purpose_disclosed_at_s) as double)",
        },
        _DISCLOSURES,
    )
    offsets = [
        _expect(
            policy,
            clause_id,
            "ExpectColumnValuesToBeBetween",
            f"The {what} is disclosed at most {limit} s after answer on every answered "
            "telemarketing call.",
            column=column,
            max_value=limit,
        )
        for what, column in (
            ("identity", "max_identity_offset_s"),
            ("purpose", "max_purpose_offset_s"),
        )
    ]
    missing = [
        _expect(
            policy,
            clause_id,
            "ExpectColumnValuesToBeBetween",
            f"No answered telemarketing call lacks {what}.",
            column=column,
            max_value=0,
        )
        for what, column in (
            ("a disclosure record", "calls_without_record"),
            ("an identity disclosure", "identity_missing"),
            ("a purpose disclosure", "purpose_missing"),
        )
    ]
    return _suite(
        policy,
        clause_id,
        "Disclose purpose and identify yourself at the beginning of the call.",
        frame,
        [*offsets, *missing],
    )


def _complaints(policy: Policy) -> SuiteSpec:
    clause_id = "complaints.rate"
    condition = f"complaints >= {policy.complaints_min_count}"
    thresholds = [
        _expect(
            policy,
            clause_id,
            "ExpectColumnValuesToBeBetween",
            f"Numbers with at least {policy.complaints_min_count} complaints in a month have "
            f"at most {policy.complaints_max_per_1000} per 1,000 outbound attempts.",
            column="complaints_per_1000",
            max_value=policy.complaints_max_per_1000,
            when=condition,
        ),
        _expect(
            policy,
            clause_id,
            "ExpectColumnValuesToBeBetween",
            f"Numbers with at least {policy.complaints_min_count} complaints placed calls that "
            "month (with none, the rate counts as exceeded).",
            column="attempts",
            min_value=1,
            when=condition,
        ),
    ]
    return _per_subject_suite(
        policy,
        clause_id,
        "No unacceptable number of complaints per originating number and month.",
        _MASKED_NUMBER,
        {
            "complaints": "facts.complaints",
            "attempts": "facts.attempts",
            "complaints_per_1000": "facts.complaints_per_1000",
        },
        thresholds,
    )


def _unanswered(policy: Policy) -> SuiteSpec:
    clause_id = "unanswered.volume"
    condition = f"attempts >= {policy.unanswered_min_attempts}"
    thresholds = [
        _expect(
            policy,
            clause_id,
            "ExpectColumnValuesToBeBetween",
            f"Numbers with at least {policy.unanswered_min_attempts} attempts in a month leave "
            f"at most {policy.unanswered_max_ratio:.0%} of them unanswered.",
            column="unanswered_ratio",
            max_value=policy.unanswered_max_ratio,
            when=condition,
        ),
        _expect(
            policy,
            clause_id,
            "ExpectColumnValuesToBeBetween",
            f"No number leaves {policy.unanswered_max_count} or more attempts unanswered in a "
            "month, whatever the share.",
            column="unanswered",
            max_value=policy.unanswered_max_count,
            strict_max=True,
            when=condition,
        ),
    ]
    return _per_subject_suite(
        policy,
        clause_id,
        "No high monthly volume of unanswered attempts from one originating number.",
        _MASKED_NUMBER,
        {
            "attempts": "facts.attempts",
            "unanswered": "facts.unanswered",
            "unanswered_ratio": "facts.unanswered_ratio",
        },
        thresholds,
    )


def _duration(policy: Policy) -> SuiteSpec:
    clause_id = "duration.average"
    threshold = _expect(
        policy,
        clause_id,
        "ExpectColumnValuesToBeBetween",
        f"Accounts with at least {policy.acd_min_answered} answered calls in a month average "
        f"at least {policy.acd_min_seconds} s.",
        column="average_duration_s",
        min_value=policy.acd_min_seconds,
        when=f"answered >= {policy.acd_min_answered}",
    )
    return _per_subject_suite(
        policy,
        clause_id,
        "No low monthly average outbound call duration per account.",
        "outcomes.account_sid || '/' || facts.metric_month",
        {
            "answered": "facts.answered",
            "average_duration_s": "facts.average_duration_s",
        },
        [threshold],
    )


def _freshness(policy: Policy) -> SuiteSpec:
    clause_id = "dnc.registry_freshness"
    per_registry = [
        _expect(
            policy,
            clause_id,
            "ExpectColumnValuesToBeBetween",
            f"On every day with telemarketing calls to its country, the newest {registry} "
            f"file is at most {max_age} days old.",
            key=f"age_days.{registry}",
            column="age_days",
            min_value=0,
            max_value=max_age,
            when=f'registry == "{registry}"',
        )
        for registry, max_age in sorted(policy.dnc_registry_max_age_days.items())
    ]
    loaded = _expect(
        policy,
        clause_id,
        "ExpectColumnValuesToNotBeNull",
        "A registry file effective on or before the day was loaded (never loaded = stale).",
        column="age_days",
    )
    return _per_subject_suite(
        policy,
        clause_id,
        "Cross-check numbers against a do-not-call registry that is kept current.",
        "outcomes.subject_id",
        {
            "registry": "facts.registry",
            "age_days": "facts.age_days",
        },
        [*per_registry, loaded],
    )


def _cps(policy: Policy) -> SuiteSpec:
    clause_id = "cps.multi_region"
    window_buckets = policy.cps_max_concurrent_hot_hours * 3600 // policy.cps_bucket_seconds
    threshold = _expect(
        policy,
        clause_id,
        "ExpectColumnValuesToBeBetween",
        f"At most {policy.cps_max_concurrent_hot_hours} h ({window_buckets} buckets of "
        f"{policy.cps_bucket_seconds} s) in any {policy.cps_window_hours} h with more than "
        f"{policy.cps_hot_share_of_allotted:.0%} of the allotted CPS used in "
        f"{policy.cps_min_hot_regions} or more home regions at once.",
        column="max_concurrent_hot_in_window",
        max_value=window_buckets,
    )
    return _per_subject_suite(
        policy,
        clause_id,
        f"At most {policy.cps_hot_share_of_allotted:.0%} of allotted CPS in more than one home "
        f"region at once, at most {policy.cps_max_concurrent_hot_hours} h in "
        f"{policy.cps_window_hours} h.",
        "outcomes.subject_id",
        {
            "episodes_started": "facts.episodes_started",
            "max_concurrent_hot_in_window": "facts.max_concurrent_hot_in_window",
        },
        [threshold],
    )


_CALL_CLAUSES: dict[str, str] = {
    "consent.prior_consent": "Obtain a callee's prior consent before a telemarketing call.",
    "optout.mechanism": "Provide a mechanism for the callee to opt out on every answered call.",
    "optout.honored": "Honour every opt-out request within the country's window.",
    "dnc.registry": "Do not call numbers listed on a national do-not-call registry.",
    "callerid.misleading": "No misleading or inaccurate caller ID.",
    "country.calling_hours": "Call only within the callee country's (and state's) calling hours.",
}


def suites(policy: Policy) -> list[SuiteSpec]:
    """The twelve clause suites, in the order of ``CLAUSE_IDS``."""
    built = {
        clause_id: _call_clause(policy, clause_id, text)
        for clause_id, text in _CALL_CLAUSES.items()
    }
    built["disclosure.identity_purpose"] = _disclosure(policy)
    built["complaints.rate"] = _complaints(policy)
    built["unanswered.volume"] = _unanswered(policy)
    built["duration.average"] = _duration(policy)
    built["dnc.registry_freshness"] = _freshness(policy)
    built["cps.multi_region"] = _cps(policy)
    return [built[clause_id] for clause_id in CLAUSE_IDS]
