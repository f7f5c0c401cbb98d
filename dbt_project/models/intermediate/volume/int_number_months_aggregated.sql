{{ vc_incremental_by_period('month_start', grain='month') }}
{#-
    Outbound attempts per originating number (E.164) and UTC month: the
    denominators of complaints.rate, the subjects of unanswered.volume and
    the per-number figures of metric_number_month. A number used by several
    accounts in a month is one subject (the policy counts per number); its
    account is the one with the most attempts (then the smallest SID).
-#}
with

calls as (

    select * from {{ ref('int_calls_enriched') }}
    where from_e164 is not null and {{ vc_in_changed_months('call_date') }}
        and started_at is not null

),

per_account as (

    select
        from_e164 as number_e164,
        call_month,
        account_sid,
        count(*) as attempts,
        sum(case when is_answered then 1 else 0 end) as answered,
        sum(case when is_unanswered then 1 else 0 end) as unanswered,
        sum(case when is_answered then duration_s else 0 end) as answered_duration_s,
        sum(
            case
                when is_answered and duration_s <= {{ var('short_call_max_seconds') }} then 1
                else 0
            end
        ) as short_answered
    from calls
    group by from_e164, call_month, account_sid

),

ranked as (

    select
        *,
        row_number() over (
            partition by number_e164, call_month
            order by attempts desc, account_sid asc
        ) as account_rank
    from per_account

),

final as (

    select
        number_e164,
        call_month,
        cast({{ dbt.concat(['call_month', "'-01'"]) }} as date) as month_start,
        max(case when account_rank = 1 then account_sid end) as account_sid,
        count(*) as accounts,
        sum(attempts) as attempts,
        sum(answered) as answered,
        sum(unanswered) as unanswered,
        sum(answered_duration_s) as answered_duration_s,
        sum(short_answered) as short_answered
    from ranked
    group by number_e164, call_month

)

select * from final
