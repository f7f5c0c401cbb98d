{{ vc_clause_config('country.calling_hours') }}
{#-
    Data quality for country.calling_hours: telemarketing outbound attempts
    whose callee's local time cannot be known (the number is not valid, or
    phonenumbers maps it only to Etc/Unknown). Such calls are neither subjects
    nor violations of the clause; the expectation on this metric fails when
    unknown_tz_calls is not zero. Always exactly one row.
-#}

with

calls as (
    select * from {{ ref('int_calls_enriched') }}
    where is_telemarketing
),

checked as (
    select distinct call_sid from {{ ref('int_call_zones') }}
),

unknown as (
    select
        calls.call_sid,
        calls.started_at,
        case when calls.to_is_valid and calls.callee_country is not null then 0 else 1 end
            as is_invalid_callee
    from calls
    left join checked
        on calls.call_sid = checked.call_sid
    where checked.call_sid is null
),

final as (
    select
        'country.calling_hours' as clause_id,
        'calling_hours_unknown_tz' as metric_name,
        (select count(*) from calls) as telemarketing_attempts,
        count(unknown.call_sid) as unknown_tz_calls,
        coalesce(sum(unknown.is_invalid_callee), 0) as invalid_callee_calls,
        count(unknown.call_sid) - coalesce(sum(unknown.is_invalid_callee), 0)
            as unmapped_zone_calls,
        min(unknown.started_at) as first_started_at,
        max(unknown.started_at) as last_started_at,
        {{ dbt.listagg('unknown.call_sid', "', '", 'order by unknown.call_sid') }} as call_sids
    from unknown
)

select * from final
