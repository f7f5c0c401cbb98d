{{ vc_incremental_by_period('call_date') }}
{#-
    One row per telemarketing outbound attempt and time zone of its callee
    (phonenumbers may map a number to several zones; the call must be allowed
    in every one of them). Calls whose callee is not a valid number, or maps
    only to Etc/Unknown, have no row here: they are counted by
    metric_calling_hours_unknown_tz instead.
-#}

with

calls as (
    select * from {{ ref('int_calls_enriched') }}
    where is_telemarketing and to_is_valid and callee_country is not null
        and {{ vc_in_changed_days('call_date') }}
),

scopes as (
    select distinct scope_type, scope_code
    from {{ ref('int_calling_windows') }}
    where rule_kind <> 'holiday'
),

call_zones as (
    select
        calls.call_sid,
        zones.time_zone,
        calls.account_sid,
        calls.callee_country,
        calls.callee_us_state,
        calls.call_date,
        calls.started_at
    from calls
    {{ vc_unnest_join('calls.callee_time_zones', 'zones', 'time_zone') }}
    where zones.time_zone <> {{ vc_unknown_time_zone() }}
),

final as (
    select
        call_zones.*,
        -- a configured US state overrides its country, a configured country the default
        case
            when state_scope.scope_code is not null then state_scope.scope_type
            when country_scope.scope_code is not null then country_scope.scope_type
            else 'default'
        end as scope_type,
        coalesce(state_scope.scope_code, country_scope.scope_code, 'default') as scope_code
    from call_zones
    left join scopes as state_scope
        on state_scope.scope_type = 'us_state'
        and call_zones.callee_us_state = state_scope.scope_code
    left join scopes as country_scope
        on country_scope.scope_type = 'country'
        and call_zones.callee_country = country_scope.scope_code
)

select * from final
