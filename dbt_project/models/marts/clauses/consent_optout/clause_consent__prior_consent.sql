{{ vc_incremental_by_period('period_start') }}
{#-
    consent.prior_consent: one row per telemarketing outbound attempt; a
    violation unless a consent row for (callee, call's brand) has a channel
    in consent_channels, a type accepted in the callee's country and
    granted_at <= call start < revoked_at (null = never revoked). The
    evidence lists every consent row of (callee, brand) examined (identical
    rows once).
-#}
{%- set clause_id = 'consent.prior_consent' -%}
{{ vc_clause_config(clause_id) }}

with

calls as (

    select * from {{ ref('int_calls_enriched') }}
    where is_telemarketing and {{ vc_in_changed_days('call_date') }}

),

consent_windows as (

    -- identical rows (the same export landed again, e.g. a daily full
    -- export) are one row: otherwise each copy multiplies every call's evidence
    select distinct
        phone_e164,
        brand,
        consent_type,
        channel,
        is_voice_channel,
        is_accepted_type,
        valid_from,
        valid_to
    from {{ ref('int_consent_windows') }}

),

examined as (

    select
        calls.call_sid,
        windows.*,
        windows.is_voice_channel
        and windows.is_accepted_type
        and windows.valid_from <= calls.started_at
        and (windows.valid_to is null or calls.started_at < windows.valid_to) as is_valid_at_call
    from calls
    inner join consent_windows as windows
        on calls.to_e164 = windows.phone_e164
        and calls.brand = windows.brand
        -- rows granted after the call say nothing about it (and a later
        -- export must not change an earlier day's evidence)
        and windows.valid_from <= calls.started_at

),

examined_per_call as (

    select
        call_sid,
        count(*) as consent_rows_examined,
        sum(case when is_valid_at_call then 1 else 0 end) as valid_consent_rows,
        {{ vc_json_agg(vc_json_object([
            ('consent_type', 'consent_type'),
            ('channel', 'channel'),
            ('granted_at', dbt.cast('valid_from', dbt.type_string())),
            ('revoked_at', dbt.cast('valid_to', dbt.type_string())),
            ('is_voice_channel', 'is_voice_channel'),
            ('is_accepted_type', 'is_accepted_type'),
            ('is_valid_at_call', 'is_valid_at_call'),
        ]), 'valid_from, valid_to, consent_type, channel') }} as consent_rows
    from examined
    group by call_sid

),

final as (

    select
        '{{ clause_id }}' as clause_id,
        'call' as subject_type,
        calls.call_sid as subject_id,
        calls.account_sid,
        calls.call_date as period_start,
        coalesce(examined_per_call.valid_consent_rows, 0) = 0 as is_violation,
        {{ vc_clause_severity(clause_id) }} as severity,
        {{ vc_json_object([
            ('brand', 'calls.brand'),
            ('callee', 'calls.to_e164'),
            ('callee_country', 'calls.callee_country'),
            ('started_at_utc', dbt.cast('calls.started_at', dbt.type_string())),
            ('consent_rows_examined', 'coalesce(examined_per_call.consent_rows_examined, 0)'),
            ('valid_consent_rows', 'coalesce(examined_per_call.valid_consent_rows, 0)'),
            ('consent_rows', 'examined_per_call.consent_rows'),
        ] + vc_telemarketing_evidence('calls.is_unclassified', 'calls.campaign_id')) }} as evidence
    from calls
    left join examined_per_call
        on calls.call_sid = examined_per_call.call_sid

)

select * from final
