{{ vc_incremental_by_period('call_date') }}
{#-
    Each (call, callee time zone) judged against the calling windows of its
    scope: the UTC start converted to the zone's local time; allowed when the
    local time of day falls in a window [start, end) of the local weekday and
    the local date is not a public holiday of the callee's country.
-#}

with

call_zones as (
    select * from {{ ref('int_call_zones') }}
    where {{ vc_in_changed_days('call_date') }}
),

windows as (
    select * from {{ ref('int_calling_windows') }}
    where rule_kind <> 'holiday'
),

holidays as (
    select distinct scope_code as country, holiday_date
    from {{ ref('int_calling_windows') }}
    where rule_kind = 'holiday'
),

converted as (
    select
        *,
        {{ vc_local_timestamp('started_at', 'time_zone') }} as local_started_at
    from call_zones
),

localized as (
    select
        *,
        cast(local_started_at as date) as local_date,
        {{ vc_weekday_index('cast(local_started_at as date)') }} as local_weekday,
        {{ dbt.datediff(dbt.date_trunc('day', 'local_started_at'), 'local_started_at', 'second') }}
            as local_second_of_day
    from converted
),

checked as (
    select
        localized.call_sid,
        localized.time_zone,
        localized.local_started_at,
        max(windows.weekday_name) as local_weekday_name,
        {{ dbt.listagg('windows.window_label', "', '", 'order by windows.window_seq') }}
            as windows_checked,
        {{ dbt.bool_or('localized.local_second_of_day >= windows.window_start_s'
            ~ ' and localized.local_second_of_day < windows.window_end_s') }} as is_in_window,
        {{ dbt.bool_or('holidays.holiday_date is not null') }} as is_holiday
    from localized
    left join windows
        on localized.scope_type = windows.scope_type
        and localized.scope_code = windows.scope_code
        and localized.local_weekday = windows.weekday
    left join holidays
        on localized.callee_country = holidays.country
        and localized.local_date = holidays.holiday_date
    group by localized.call_sid, localized.time_zone, localized.local_started_at
),

final as (
    select
        call_zones.*,
        checked.local_started_at,
        checked.local_weekday_name,
        checked.windows_checked,
        checked.is_holiday,
        coalesce(checked.is_in_window, false) and not checked.is_holiday as is_allowed
    from call_zones
    inner join checked
        on call_zones.call_sid = checked.call_sid
        and call_zones.time_zone = checked.time_zone
)

select * from final
