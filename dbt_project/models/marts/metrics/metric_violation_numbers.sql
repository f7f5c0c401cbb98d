{#-
    The phone number each violation is about and its role: the originating
    number of a number-month subject or of a misleading caller ID, else the
    called number of a per-call violation. What the monthly report ranks
    (voice_compliance.report.data) with a plain group by.
-#}
with

policy_violations as (

    select * from {{ ref('policy_violations') }}

),

unpacked as (

    select
        clause_id,
        subject_type,
        subject_id,
        account_sid,
        period_start,
        severity,
        {{ vc_json_text('evidence', 'from_e164') }} as from_e164,
        {{ vc_json_text('evidence', 'callee') }} as callee
    from policy_violations

),

numbered as (

    select
        clause_id,
        subject_id,
        account_sid,
        period_start,
        severity,
        case
            when subject_type = 'number_month' then {{ dbt.split_part('subject_id', "'/'", 1) }}
            else coalesce(from_e164, callee)
        end as number_e164,
        case
            when subject_type = 'number_month' or from_e164 is not null then 'originating'
            else 'called'
        end as number_role
    from unpacked

),

final as (

    select * from numbered
    where number_e164 is not null

)

select * from final
