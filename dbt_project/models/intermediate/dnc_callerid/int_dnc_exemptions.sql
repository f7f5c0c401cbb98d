{{ vc_incremental_by_period('call_date') }}
{#-
    One row per telemarketing outbound attempt to a registry-covered country
    and per consent or EBR record of its callee and the call's brand that could
    exempt it from the registry (dnc.registry; identical records once): a consent of a type in
    dnc_exemption_consent_types, or an ebr_purchase / ebr_inquiry record.
    is_exempting: channel in consent_channels, granted_at <= call start <
    revoked_at (null = never revoked) and, for an EBR, call start <=
    granted_at + dnc_ebr_purchase_days / dnc_ebr_inquiry_days (inclusive).
-#}
{%- set exemption_types = var('dnc_exemption_consent_types') -%}

with

calls as (

    select call_sid, callee_country, to_e164, brand, started_at, call_date
    from {{ ref('int_calls_enriched') }}
    where is_telemarketing and to_e164 is not null and brand is not null
        and {{ vc_in_changed_days('call_date') }}

),

covered_countries as (

    select distinct country from {{ ref('int_dnc_country_registries') }}

),

consent_rows as (

    select
        phone_number_e164,
        brand,
        consent_type,
        channel,
        granted_at,
        revoked_at,
        _source_file,
        _source_line,
        -- identical rows (the same export landed again, e.g. a daily full
        -- export) are one record: the first copy by file and line
        row_number() over (
            partition by phone_number_e164, brand, consent_type, channel, granted_at, revoked_at
            order by _source_file, _source_line
        ) as copy_number
    from {{ ref('stg_exports__consent') }}
    where phone_number_e164 is not null
        and consent_type in (
            {%- for consent_type in exemption_types %}'{{ consent_type }}', {% endfor -%}
            'ebr_purchase', 'ebr_inquiry'
        )

),

consent as (

    select * from consent_rows where copy_number = 1

),

examined as (

    select
        calls.call_sid,
        calls.started_at,
        calls.call_date,
        consent.consent_type,
        case
            when consent.consent_type in ('{{ exemption_types | join("', '") }}') then 'consent'
            else consent.consent_type
        end as exemption_kind,
        consent.channel,
        consent.granted_at,
        consent.revoked_at,
        consent._source_file,
        consent._source_line,
        consent.channel in ('{{ var("consent_channels") | join("', '") }}') as is_voice_channel  -- noqa: LT05
    from calls
    inner join covered_countries on calls.callee_country = covered_countries.country
    inner join consent
        on calls.to_e164 = consent.phone_number_e164
        and calls.brand = consent.brand
        -- rows granted after the call cannot exempt it (and a later export
        -- must not change an earlier day's rows)
        and consent.granted_at <= calls.started_at

),

windowed as (

    select
        *,
        case exemption_kind
            when 'ebr_purchase'
                then {{ dbt.dateadd('day', var('dnc_ebr_purchase_days'), 'granted_at') }}
            when 'ebr_inquiry'
                then {{ dbt.dateadd('day', var('dnc_ebr_inquiry_days'), 'granted_at') }}
        end as ebr_expires_at
    from examined

),

final as (

    select
        call_sid,
        call_date,
        exemption_kind,
        consent_type,
        channel,
        granted_at,
        revoked_at,
        ebr_expires_at,
        _source_file,
        _source_line,
        is_voice_channel
        and granted_at <= started_at
        and (revoked_at is null or started_at < revoked_at)
        and (ebr_expires_at is null or started_at <= ebr_expires_at) as is_exempting
    from windowed

)

select * from final
