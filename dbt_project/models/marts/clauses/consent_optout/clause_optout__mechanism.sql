{{ vc_incremental_by_period('period_start') }}
{#-
    optout.mechanism: one row per answered telemarketing call; a violation
    unless its disclosure record has opt_out_offered = true (a missing
    record, or a null flag, is a violation).
-#}
{%- set clause_id = 'optout.mechanism' -%}
{{ vc_clause_config(clause_id) }}

with

calls as (

    select * from {{ ref('int_call_disclosures') }}
    where {{ vc_in_changed_days('call_date') }}

),

final as (

    select
        '{{ clause_id }}' as clause_id,
        'call' as subject_type,
        call_sid as subject_id,
        account_sid,
        call_date as period_start,
        not coalesce(opt_out_offered, false) as is_violation,
        {{ vc_clause_severity(clause_id) }} as severity,
        {{ vc_json_object([
            ('brand', 'brand'),
            ('has_disclosure_record', 'has_disclosure_record'),
            ('opt_out_offered', 'opt_out_offered'),
        ] + vc_telemarketing_evidence('is_unclassified', 'campaign_id')) }} as evidence
    from calls

)

select * from final
