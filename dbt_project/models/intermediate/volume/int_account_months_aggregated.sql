{{ vc_incremental_by_period('month_start', grain='month') }}
{#-
    Outbound attempts per account and UTC month: the answered calls and their
    total duration (duration.average) and the unclassified attempts (calls
    with no campaign, metric_unclassified_calls).
-#}
with

calls as (

    select * from {{ ref('int_calls_enriched') }}
    where started_at is not null and {{ vc_in_changed_months('call_date') }}

),

final as (

    select
        account_sid,
        call_month,
        cast({{ dbt.concat(['call_month', "'-01'"]) }} as date) as month_start,
        count(*) as attempts,
        sum(case when is_answered then 1 else 0 end) as answered,
        sum(case when is_answered then duration_s else 0 end) as answered_duration_s,
        sum(case when is_unclassified then 1 else 0 end) as unclassified_attempts
    from calls
    group by account_sid, call_month

)

select * from final
