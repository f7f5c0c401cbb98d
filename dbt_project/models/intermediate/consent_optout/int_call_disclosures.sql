{{ vc_incremental_by_period('call_date') }}
{#-
    One row per answered telemarketing call with its disclosure record, if
    any (has_disclosure_record = false when the call has none). The subjects
    of disclosure.identity_purpose and optout.mechanism.
-#}

with

calls as (

    select * from {{ ref('int_calls_enriched') }}
    where is_telemarketing and is_answered and {{ vc_in_changed_days('call_date') }}

),

disclosures as (

    select * from {{ ref('stg_exports__disclosures') }}

),

final as (

    select
        calls.call_sid,
        calls.account_sid,
        calls.brand,
        calls.campaign_id,
        calls.is_unclassified,
        calls.duration_s,
        calls.started_at,
        calls.call_date,
        disclosures.call_sid is not null as has_disclosure_record,
        disclosures.identity_disclosed_at_s,
        disclosures.purpose_disclosed_at_s,
        disclosures.opt_out_offered
    from calls
    left join disclosures
        on calls.call_sid = disclosures.call_sid

)

select * from final
