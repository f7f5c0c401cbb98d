{#-
    The allowed calling windows of policy.yml (calling_hours_default,
    calling_hours_by_country, calling_hours_by_us_state, calling_hours_holidays)
    as rows, rendered by vc_calling_windows_relation(): no window is written
    in SQL, changing policy.yml changes this table.
-#}

with

windows as (
    {{ vc_calling_windows_relation() }}
),

final as (
    select
        scope_type,
        scope_code,
        rule_kind,
        weekday,
        weekday_name,
        window_seq,
        window_start,
        window_end,
        window_start_s,
        window_end_s,
        holiday_date,
        case
            when rule_kind = 'window' then {{ dbt.concat(['window_start', "'-'", 'window_end']) }}
            when rule_kind = 'closed' then 'closed'
            else {{ dbt.concat(["'holiday '", dbt.cast('holiday_date', dbt.type_string())]) }}
        end as window_label

    from windows
)

select * from final
