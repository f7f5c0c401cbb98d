{#- One row per violation of the Twilio Voice Services Policy. -#}
with

clause_outcomes as (
    select * from {{ ref('clause_outcomes') }}
),

violations as (
    select
        clause_id,
        subject_type,
        subject_id,
        account_sid,
        period_start,
        severity,
        evidence
    from clause_outcomes
    where is_violation
)

select * from violations
