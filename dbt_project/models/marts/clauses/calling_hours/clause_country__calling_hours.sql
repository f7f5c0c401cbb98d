{{ vc_incremental_by_period('period_start') }}
{#-
    country.calling_hours: one row per telemarketing outbound attempt whose
    callee has a known time zone; a violation when, in any of the callee's
    time zones, the call started outside the allowed local calling windows.
-#}
{%- set clause_id = 'country.calling_hours' -%}
{{ vc_clause_config(clause_id) }}

with

call_zones as (
    select * from {{ ref('int_call_zones_checked') }}
    where {{ vc_in_changed_days('call_date') }}
),

classification as (
    -- the call's campaign: whether it is a subject only as an unclassified call
    select call_sid, campaign_id, is_unclassified from {{ ref('int_calls_enriched') }}
    where {{ vc_in_changed_days('call_date') }}
),

zone_evidence as (
    select
        *,
        {{ vc_json_object([
            ('time_zone', 'time_zone'),
            ('local_started_at', dbt.cast('local_started_at', dbt.type_string())),
            ('local_weekday', 'local_weekday_name'),
            ('windows', 'windows_checked'),
            ('is_holiday', 'is_holiday'),
            ('is_allowed', 'is_allowed'),
        ]) }} as zone_json
    from call_zones
),

calls as (
    select
        call_sid,
        account_sid,
        call_date,
        started_at,
        callee_country,
        callee_us_state,
        scope_type,
        scope_code,
        count(*) as zones_checked,
        sum(case when is_allowed then 0 else 1 end) as zones_outside_windows,
        {{ vc_json_agg('zone_json', 'time_zone') }} as zones
    from zone_evidence
    group by
        call_sid, account_sid, call_date, started_at,
        callee_country, callee_us_state, scope_type, scope_code
),

final as (
    select
        '{{ clause_id }}' as clause_id,
        'call' as subject_type,
        calls.call_sid as subject_id,
        calls.account_sid,
        calls.call_date as period_start,
        calls.zones_outside_windows > 0 as is_violation,
        {{ vc_clause_severity(clause_id) }} as severity,
        {{ vc_json_object([
            ('started_at_utc', dbt.cast('calls.started_at', dbt.type_string())),
            ('callee_country', 'callee_country'),
            ('callee_us_state', 'callee_us_state'),
            ('calling_hours_scope', dbt.concat(['scope_type', "':'", 'scope_code'])),
            ('zones_checked', 'zones_checked'),
            ('zones_outside_windows', 'zones_outside_windows'),
            ('zones', 'zones'),
        ] + vc_telemarketing_evidence('classification.is_unclassified', 'classification.campaign_id')) }}
            as evidence
    from calls
    left join classification on calls.call_sid = classification.call_sid
)

select * from final
