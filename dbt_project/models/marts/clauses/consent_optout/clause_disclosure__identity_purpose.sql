{{ vc_incremental_by_period('period_start') }}
{#-
    disclosure.identity_purpose: one row per answered telemarketing call; a
    violation unless its disclosure record has both identity_disclosed_at_s
    and purpose_disclosed_at_s not null and each <= disclosure_max_offset_s
    seconds after answer. A missing disclosure record is a violation.
-#}
{%- set clause_id = 'disclosure.identity_purpose' -%}
{{ vc_clause_config(clause_id) }}
{%- set max_offset_s = var('disclosure_max_offset_s') -%}

with

calls as (

    select * from {{ ref('int_call_disclosures') }}
    where {{ vc_in_changed_days('call_date') }}

),

judged as (

    select
        *,
        coalesce(
            identity_disclosed_at_s <= {{ max_offset_s }}
            and purpose_disclosed_at_s <= {{ max_offset_s }},
            false
        ) as is_disclosed_in_time
    from calls

),

final as (

    select
        '{{ clause_id }}' as clause_id,
        'call' as subject_type,
        call_sid as subject_id,
        account_sid,
        call_date as period_start,
        not is_disclosed_in_time as is_violation,
        {{ vc_clause_severity(clause_id) }} as severity,
        {{ vc_json_object([
            ('brand', 'brand'),
            ('has_disclosure_record', 'has_disclosure_record'),
            ('identity_disclosed_at_s', 'identity_disclosed_at_s'),
            ('purpose_disclosed_at_s', 'purpose_disclosed_at_s'),
            ('disclosure_max_offset_s', max_offset_s),
        ] + vc_telemarketing_evidence('is_unclassified', 'campaign_id')) }} as evidence
    from judged

)

select * from final
