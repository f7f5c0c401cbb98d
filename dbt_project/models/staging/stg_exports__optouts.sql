-- Opt-out requests, with the number normalized. brand null = all brands.
with

optouts as (
    select * from {{ source('raw', 'optouts') }}
),

phones as (
    {{ vc_phone_dimension() }}
)

select
    optouts.phone_number as phone_number_raw,
    {{ vc_phone_columns('phone', 'phone_number') }},
    optouts.brand,
    optouts.method,
    optouts.call_sid,
    optouts.requested_at,
    optouts._source_file,
    optouts._source_line,
    optouts._loaded_at
from optouts
left join phones as phone on optouts.phone_number = phone.raw
