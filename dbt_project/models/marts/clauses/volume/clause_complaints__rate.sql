{#-
    complaints.rate: one row per originating number and UTC month with
    outbound attempts or attributed complaints; a violation when the
    complaints are at least complaints_min_count AND exceed
    complaints_max_per_1000 per 1,000 attempts (zero attempts = exceeding).
-#}
{%- set clause_id = 'complaints.rate' -%}
{{ vc_clause_config(clause_id) }}
with

number_months as (

    select * from {{ ref('int_number_months_aggregated') }}

),

complaint_months as (

    select * from {{ ref('int_complaint_months_aggregated') }}

),

subjects as (

    select
        coalesce(number_months.number_e164, complaint_months.number_e164) as number_e164,
        coalesce(number_months.call_month, complaint_months.complaint_month) as subject_month,
        coalesce(number_months.month_start, complaint_months.month_start) as month_start,
        coalesce(
            number_months.account_sid,
            complaint_months.call_account_sid,
            complaint_months.inventory_account_sid
        ) as account_sid,
        case
            when number_months.account_sid is not null then 'calls'
            when complaint_months.call_account_sid is not null then 'complaint_calls'
            when complaint_months.inventory_account_sid is not null then 'inventory'
        end as account_from,
        coalesce(number_months.attempts, 0) as attempts,
        coalesce(complaint_months.complaints, 0) as complaints,
        coalesce(complaint_months.complaints_via_call_sid, 0) as complaints_via_call_sid,
        coalesce(complaint_months.complaints_via_caller_id, 0) as complaints_via_caller_id
    from number_months
    full outer join complaint_months
        on number_months.number_e164 = complaint_months.number_e164
        and number_months.call_month = complaint_months.complaint_month

),

final as (

    select
        '{{ clause_id }}' as clause_id,
        'number_month' as subject_type,
        {{ dbt.concat(['number_e164', "'/'", 'subject_month']) }} as subject_id,
        account_sid,
        month_start as period_start,
        complaints >= {{ var('complaints_min_count') }}
        and (attempts = 0 or complaints * 1000 > {{ var('complaints_max_per_1000') }} * attempts)
            as is_violation,
        {{ vc_clause_severity(clause_id) }} as severity,
        {{ vc_json_object([
            ('number', 'number_e164'),
            ('month', 'subject_month'),
            ('complaints', 'complaints'),
            ('complaints_via_call_sid', 'complaints_via_call_sid'),
            ('complaints_via_caller_id', 'complaints_via_caller_id'),
            ('attempts', 'attempts'),
            ('complaints_per_1000', 'case when attempts > 0 then complaints * 1000.0 / attempts end'),
            ('rate_basis', "case when attempts = 0 then 'no attempts: complaints with zero outbound"
                ~ " attempts from the number in the month; the rate counts as exceeding"
                ~ " complaints_max_per_1000 (policy-rules, Complaints)'"
                ~ " else 'complaints per 1,000 outbound attempts from the number in the month' end"),
            ('complaints_min_count', var('complaints_min_count')),
            ('complaints_max_per_1000', var('complaints_max_per_1000')),
            ('account_from', 'account_from'),
        ]) }} as evidence
    from subjects

)

select * from final
