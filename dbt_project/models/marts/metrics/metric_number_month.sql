{#-
    Per originating number and UTC month (with outbound attempts or attributed
    complaints): attempts, answer-seizure ratio, average duration of answered
    calls, short-call share, complaints per 1,000 attempts, and the ACD
    warning flag (duration.average's figure per number: a warning, not a
    violation, policy-rules.md).
-#}
with

number_months as (

    select * from {{ ref('int_number_months_aggregated') }}

),

complaint_months as (

    select * from {{ ref('int_complaint_months_aggregated') }}

),

joined as (

    select
        coalesce(number_months.number_e164, complaint_months.number_e164) as number_e164,
        coalesce(number_months.call_month, complaint_months.complaint_month) as metric_month,
        coalesce(number_months.month_start, complaint_months.month_start) as month_start,
        coalesce(
            number_months.account_sid,
            complaint_months.call_account_sid,
            complaint_months.inventory_account_sid
        ) as account_sid,
        coalesce(number_months.attempts, 0) as attempts,
        coalesce(number_months.answered, 0) as answered,
        coalesce(number_months.unanswered, 0) as unanswered,
        coalesce(number_months.answered_duration_s, 0) as answered_duration_s,
        coalesce(number_months.short_answered, 0) as short_answered,
        coalesce(complaint_months.complaints, 0) as complaints
    from number_months
    full outer join complaint_months
        on number_months.number_e164 = complaint_months.number_e164
        and number_months.call_month = complaint_months.complaint_month

),

final as (

    select
        number_e164,
        metric_month,
        month_start,
        account_sid,
        attempts,
        answered,
        unanswered,
        case when attempts > 0 then answered * 1.0 / attempts end as answer_seizure_ratio,
        case
            when answered > 0 then answered_duration_s * 1.0 / answered
        end as average_answered_duration_s,
        short_answered,
        case when answered > 0 then short_answered * 1.0 / answered end as short_call_share,
        complaints,
        case when attempts > 0 then complaints * 1000.0 / attempts end as complaints_per_1000,
        answered >= {{ var('acd_min_answered') }}
        and answered_duration_s < {{ var('acd_min_seconds') }} * answered as is_acd_warning
    from joined

)

select * from final
