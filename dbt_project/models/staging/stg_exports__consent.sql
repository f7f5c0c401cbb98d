-- Consent and EBR records, with the callee number normalized.
with

consent as (
    select * from {{ source('raw', 'consent') }}
),

phones as (
    {{ vc_phone_dimension() }}
)

select
    consent.phone_number as phone_number_raw,
    {{ vc_phone_columns('phone', 'phone_number') }},
    consent.brand,
    consent.consent_type,
    consent.channel,
    consent.source,
    consent.evidence_ref,
    consent.granted_at,
    consent.revoked_at,
    consent._source_file,
    consent._source_line,
    consent._loaded_at
from consent
left join phones as phone on consent.phone_number = phone.raw
