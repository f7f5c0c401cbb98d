{{ vc_incremental_by_period('period_start') }}
{#-
    dnc.registry: one row per telemarketing outbound attempt to a country
    that dnc_registries_by_country covers; a violation when a registry of the
    country listed the callee at the call start (int_dnc_registry_listings)
    and no consent or EBR record exempts the call (int_dnc_exemptions).
    A registry never loaded checks nothing: calls to a country none of whose
    registries was loaded are not subjects (neither violations nor clean),
    and metric_registry_coverage reports the country as 'missing'.
-#}
{%- set clause_id = 'dnc.registry' -%}
{{ vc_clause_config(clause_id) }}

with

calls as (

    select * from {{ ref('int_calls_enriched') }}
    where is_telemarketing and {{ vc_in_changed_days('call_date') }}

),

coverage as (

    -- a country none of whose registries was ever loaded is not checked at
    -- all: its calls are not subjects (never "clean"); the metric reports it
    select country, registries_loaded, registries_never_loaded
    from {{ ref('int_dnc_registry_coverage') }}
    where registries_loaded_count > 0

),

listings as (

    -- only the changed days' rows: the aggregates below are joined to them
    select * from {{ ref('int_dnc_registry_listings') }}
    where {{ vc_in_changed_days('call_date') }}

),

exemptions as (

    select * from {{ ref('int_dnc_exemptions') }}
    where {{ vc_in_changed_days('call_date') }}

),

listings_per_call as (

    select
        call_sid,
        count(*) as registries_listing,
        {{ vc_json_agg(vc_json_object([
            ('registry', 'registry'),
            ('listed_from', dbt.cast('listed_from', dbt.type_string())),
            ('files', 'listing_files'),
        ]), 'registry') }} as listings
    from listings
    group by call_sid

),

exemptions_per_call as (

    select
        call_sid,
        count(*) as exemptions_examined,
        sum(case when is_exempting then 1 else 0 end) as exemptions_valid,
        {{ vc_json_agg(vc_json_object([
            ('kind', 'exemption_kind'),
            ('consent_type', 'consent_type'),
            ('channel', 'channel'),
            ('granted_at', dbt.cast('granted_at', dbt.type_string())),
            ('revoked_at', dbt.cast('revoked_at', dbt.type_string())),
            ('ebr_expires_at', dbt.cast('ebr_expires_at', dbt.type_string())),
            ('is_exempting', 'is_exempting'),
        ]), 'granted_at, _source_file, _source_line') }} as exemptions
    from exemptions
    group by call_sid

),

final as (

    select
        '{{ clause_id }}' as clause_id,
        'call' as subject_type,
        calls.call_sid as subject_id,
        calls.account_sid,
        calls.call_date as period_start,
        coalesce(listings_per_call.registries_listing, 0) > 0
        and coalesce(exemptions_per_call.exemptions_valid, 0) = 0 as is_violation,
        {{ vc_clause_severity(clause_id) }} as severity,
        {{ vc_json_object([
            ('callee', 'calls.to_e164'),
            ('callee_country', 'calls.callee_country'),
            ('brand', 'calls.brand'),
            ('call_date', dbt.cast('calls.call_date', dbt.type_string())),
            ('started_at_utc', dbt.cast('calls.started_at', dbt.type_string())),
            ('registries_checked', 'coverage.registries_loaded'),
            ('registries_never_loaded', 'coverage.registries_never_loaded'),
            ('listings', 'listings_per_call.listings'),
            ('exemptions_examined', 'coalesce(exemptions_per_call.exemptions_examined, 0)'),
            ('exemptions_valid', 'coalesce(exemptions_per_call.exemptions_valid, 0)'),
            ('exemptions', 'exemptions_per_call.exemptions'),
            ('exemption_consent_types', vc_json_literal(var('dnc_exemption_consent_types'))),
            ('ebr_purchase_days', var('dnc_ebr_purchase_days')),
            ('ebr_inquiry_days', var('dnc_ebr_inquiry_days')),
        ] + vc_telemarketing_evidence('calls.is_unclassified', 'calls.campaign_id')) }} as evidence
    from calls
    inner join coverage on calls.callee_country = coverage.country
    left join listings_per_call on calls.call_sid = listings_per_call.call_sid
    left join exemptions_per_call on calls.call_sid = exemptions_per_call.call_sid

)

select * from final
