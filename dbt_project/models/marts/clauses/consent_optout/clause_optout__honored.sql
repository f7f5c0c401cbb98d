{{ vc_incremental_by_period('period_start') }}
{#-
    optout.honored: one row per telemarketing outbound attempt; a violation
    when an opt-out or internal do-not-call entry of the callee that applies
    to the call was breached (int_optout_call_checks: UTC call date after the
    deadline date D, or, for a window of 0, a start after requested_at).
-#}
{%- set clause_id = 'optout.honored' -%}
{{ vc_clause_config(clause_id) }}

with

calls as (

    select * from {{ ref('int_calls_enriched') }}
    where is_telemarketing and {{ vc_in_changed_days('call_date') }}

),

checks as (

    select
        *,
        {{ vc_json_object([
            ('source', 'request_source'),
            ('brand', 'request_brand'),
            ('requested_at', dbt.cast('requested_at', dbt.type_string())),
            ('window_days', 'window_days'),
            ('window_kind', 'window_kind'),
            ('deadline_date', dbt.cast('deadline_date', dbt.type_string())),
            ('is_breached', 'is_breached'),
        ]) }} as request_json,
        -- the earliest breached request leads the evidence
        row_number() over (
            partition by call_sid, is_breached order by requested_at, request_id
        ) as request_rank
    from {{ ref('int_optout_call_checks') }}
    where {{ vc_in_changed_days('call_date') }}

),

checks_per_call as (

    select
        call_sid,
        count(*) as requests_matched,
        sum(case when is_breached then 1 else 0 end) as requests_breached,
        {{ vc_json_agg('request_json', 'requested_at, request_id') }} as requests
    from checks
    group by call_sid

),

final as (

    select
        '{{ clause_id }}' as clause_id,
        'call' as subject_type,
        calls.call_sid as subject_id,
        calls.account_sid,
        calls.call_date as period_start,
        coalesce(checks_per_call.requests_breached, 0) > 0 as is_violation,
        {{ vc_clause_severity(clause_id) }} as severity,
        {{ vc_json_object([
            ('brand', 'calls.brand'),
            ('callee', 'calls.to_e164'),
            ('callee_country', 'calls.callee_country'),
            ('started_at_utc', dbt.cast('calls.started_at', dbt.type_string())),
            ('requests_matched', 'coalesce(checks_per_call.requests_matched, 0)'),
            ('requests_breached', 'coalesce(checks_per_call.requests_breached, 0)'),
            ('first_breached_request', 'first_breach.request_json'),
            ('requests', 'checks_per_call.requests'),
        ] + vc_telemarketing_evidence('calls.is_unclassified', 'calls.campaign_id')) }} as evidence
    from calls
    left join checks_per_call
        on calls.call_sid = checks_per_call.call_sid
    left join checks as first_breach
        on calls.call_sid = first_breach.call_sid
        and first_breach.is_breached
        and first_breach.request_rank = 1

)

select * from final
