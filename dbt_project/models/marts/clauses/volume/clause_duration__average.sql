{#-
    duration.average: one row per account and UTC month with at least
    acd_min_answered answered outbound calls; a violation when their average
    duration is below acd_min_seconds (compared as total < threshold x count,
    so an average of exactly the threshold is compliant without rounding).
-#}
{%- set clause_id = 'duration.average' -%}
{{ vc_clause_config(clause_id) }}
with

account_months as (

    select * from {{ ref('int_account_months_aggregated') }}
    where answered >= {{ var('acd_min_answered') }}

),

final as (

    select
        '{{ clause_id }}' as clause_id,
        'account_month' as subject_type,
        {{ dbt.concat(['account_sid', "'/'", 'call_month']) }} as subject_id,
        account_sid,
        month_start as period_start,
        answered_duration_s < {{ var('acd_min_seconds') }} * answered as is_violation,
        {{ vc_clause_severity(clause_id) }} as severity,
        {{ vc_json_object([
            ('account_sid', 'account_sid'),
            ('month', 'call_month'),
            ('attempts', 'attempts'),
            ('answered', 'answered'),
            ('answered_duration_s', 'answered_duration_s'),
            ('average_duration_s', 'answered_duration_s * 1.0 / answered'),
            ('acd_min_answered', var('acd_min_answered')),
            ('acd_min_seconds', var('acd_min_seconds')),
        ]) }} as evidence
    from account_months

)

select * from final
