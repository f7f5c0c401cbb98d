"""Data-quality suites: the landed and staged data the clauses stand on.

Not clauses of the policy; a failing check opens a ticket of its own (its
``check_id``, no account), and its failures are stored with the validation
results, shown in the Data Docs and counted in the Slack message. Each
expectation carries a ``check_id`` (and the clause it protects, where there
is one) with the severity and owner of ``data_quality`` in ``policy.yml``,
which also holds their thresholds.

Frames are aggregates computed in DuckDB: per month for the calls, per
account and month for unclassified calls, per country for registry
coverage, per landed file for the manifest, per dbt data test for
``dq.data_tests``; a single row for the rest.

``dq.data_tests`` is how a dbt data test on landed data reports: those tests
warn instead of halting the build (decision 0013), dbt keeps every test's
outcome in ``compliance.data_test_results`` (an on-run-end hook), and this
suite fails on each test that did not pass, naming it (model, column, test,
failing rows) in the results and the Slack message.
"""

from __future__ import annotations

from typing import Any

from voice_compliance.policy import Policy
from voice_compliance.validation.spec import ExpectationSpec, FrameScope, SuiteSpec

SUITE_PREFIX = "dq."

_CALLS = """
with calls as (
    select * from staging.stg_twilio__calls
    where started_at >= $month_start and started_at < $month_end
),
outbound as (
    select * from calls where direction in (select unnest($outbound_directions))
)
select
    strftime($month_start::date, '%Y-%m') as month,
    (select count(*) from calls) as calls,
    (select count(*) - count(distinct call_sid) from calls) as duplicate_call_sids,
    (select count(*) from outbound) as outbound_attempts,
    (select avg(case when to_is_valid then 1.0 else 0.0 end) from outbound) as valid_callee_share
"""

_UNCLASSIFIED = """
select
    coalesce(account_sid, '-') as account_key,
    metric_month as month,
    attempts,
    unclassified_attempts,
    unclassified_share
from metrics.metric_unclassified_calls
where month_start >= $month_start and month_start < $month_end
order by all
"""

_REGISTRY_COVERAGE = """
select callee_country, coverage_status, registries_never_loaded, telemarketing_calls
from metrics.metric_registry_coverage
order by all
"""

_CONSENT = """
select
    count(*) as consent_rows,
    count(*) filter (where granted_at > now()) as granted_in_future,
    count(*) filter (where revoked_at > now()) as revoked_in_future,
    count(*) filter (where revoked_at < granted_at) as revoked_before_granted
from staging.stg_exports__consent
"""

_MANIFEST = """
select
    landing_key,
    source,
    status,
    rows_read,
    rows_loaded + rows_quarantined as rows_accounted
from compliance.load_manifest
order by all
"""

_UNKNOWN_TIME_ZONE = """
select telemarketing_attempts, unknown_tz_calls, invalid_callee_calls, unmapped_zone_calls
from metrics.metric_calling_hours_unknown_tz
"""

_DATA_TESTS = """
select data_test, model, column_name, status, failures as failing_rows, message
from compliance.data_test_results
order by all
"""

_UNALLOTTED_REGIONS = """
select coalesce(account_sid, '-') as account_key, home_region, metric_month as month, attempts
from metrics.metric_cps_unallotted_regions
order by all
"""


def _expect(
    policy: Policy,
    check_id: str,
    type_: str,
    description: str,
    *,
    protects: str | None = None,
    **kwargs: Any,
) -> ExpectationSpec:
    dq = policy.data_quality
    meta: dict[str, Any] = {"check_id": check_id, "severity": dq.severity, "owner": dq.owner}
    if protects:
        meta["protects_clause"] = protects
    kwargs.setdefault("severity", "warning")
    return ExpectationSpec(type_, kwargs, meta, description)


def _suite(
    name: str,
    description: str,
    frame_sql: str,
    scope: FrameScope,
    key_columns: tuple[str, ...],
    *expectations: ExpectationSpec,
) -> SuiteSpec:
    return SuiteSpec(
        name=SUITE_PREFIX + name,
        kind="data_quality",
        description=description,
        frame_sql=frame_sql,
        scope=scope,
        key_columns=key_columns,
        expectations=expectations,
    )


def suites(policy: Policy) -> list[SuiteSpec]:
    """The data-quality suites, with thresholds from ``policy.data_quality``."""
    dq = policy.data_quality
    return [
        _suite(
            "calls",
            "Staged calls: one row per call SID; callee numbers valid E.164.",
            _CALLS,
            "monthly",
            ("month",),
            _expect(
                policy,
                "dq.unique_call_sids",
                "ExpectColumnValuesToBeBetween",
                "Every call SID appears once in the staged calls (duplicates resolved).",
                column="duplicate_call_sids",
                min_value=0,
                max_value=0,
            ),
            _expect(
                policy,
                "dq.valid_callee_share",
                "ExpectColumnValuesToBeBetween",
                f"At least {dq.min_valid_callee_share:.0%} of outbound attempts call a valid "
                "E.164 number.",
                column="valid_callee_share",
                min_value=dq.min_valid_callee_share,
            ),
        ),
        _suite(
            "unclassified_calls",
            "Outbound attempts with no campaign are treated as telemarketing; few should exist.",
            _UNCLASSIFIED,
            "monthly",
            ("account_key", "month"),
            _expect(
                policy,
                "dq.unclassified_calls",
                "ExpectColumnValuesToBeBetween",
                f"At most {dq.max_unclassified_share:.1%} of an account's outbound attempts in a "
                "month have no campaign.",
                protects="consent.prior_consent",
                column="unclassified_share",
                max_value=dq.max_unclassified_share,
            ),
        ),
        _suite(
            "registry_coverage",
            "Every country with telemarketing calls has its do-not-call registries loaded.",
            _REGISTRY_COVERAGE,
            "whole",
            ("callee_country",),
            _expect(
                policy,
                "dq.registry_coverage",
                "ExpectColumnValuesToBeInSet",
                "No country with telemarketing calls misses a registry that was never loaded.",
                protects="dnc.registry",
                column="coverage_status",
                value_set=["covered", "not_required"],
            ),
        ),
        _suite(
            "consent",
            "Consent export: timestamps not in the future, revocations after grants.",
            _CONSENT,
            "whole",
            (),
            *(
                _expect(
                    policy,
                    f"dq.consent_{column}",
                    "ExpectColumnValuesToBeBetween",
                    f"No consent row is {column.replace('_', ' ')}.",
                    protects="consent.prior_consent",
                    column=column,
                    max_value=0,
                )
                for column in ("granted_in_future", "revoked_in_future", "revoked_before_granted")
            ),
        ),
        _suite(
            "load_manifest",
            "Every landed file reconciles: rows read = rows loaded + rows quarantined.",
            _MANIFEST,
            "whole",
            ("landing_key",),
            _expect(
                policy,
                "dq.manifest_reconciled",
                "ExpectColumnPairValuesToBeEqual",
                "Rows read equal rows loaded plus rows quarantined, file by file.",
                column_A="rows_read",
                column_B="rows_accounted",
            ),
            _expect(
                policy,
                "dq.manifest_readable",
                "ExpectColumnValuesToBeInSet",
                "Every landed file was readable and recognized.",
                column="status",
                value_set=["loaded", "partial", "empty"],
            ),
        ),
        _suite(
            "calling_hours_time_zones",
            "Every telemarketing callee maps to a known time zone (else hours can't be judged).",
            _UNKNOWN_TIME_ZONE,
            "whole",
            (),
            _expect(
                policy,
                "dq.unknown_time_zone",
                "ExpectColumnValuesToBeBetween",
                "No telemarketing call goes to a number without a known time zone.",
                protects="country.calling_hours",
                column="unknown_tz_calls",
                max_value=0,
            ),
        ),
        _suite(
            "data_tests",
            "Every dbt data test on the landed data passed in the latest build (warnings too).",
            _DATA_TESTS,
            "whole",
            ("data_test", "failing_rows"),
            _expect(
                policy,
                "dq.data_tests",
                "ExpectColumnValuesToBeInSet",
                "No dbt data test warned or failed: each one that did names the rows to fix.",
                column="status",
                value_set=["pass"],
            ),
        ),
        _suite(
            "cps_allotments",
            "Every home region with calls has a CPS allotment in accounts.",
            _UNALLOTTED_REGIONS,
            "whole",
            ("account_key", "home_region", "month"),
            _expect(
                policy,
                "dq.cps_unallotted_regions",
                "ExpectTableRowCountToEqual",
                "No account places calls from a home region without an allotted CPS.",
                protects="cps.multi_region",
                value=0,
            ),
        ),
    ]
