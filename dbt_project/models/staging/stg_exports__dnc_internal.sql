-- The internal do-not-call list, with the number normalized. brand null =
-- all brands.
with

dnc_internal as (
    select * from {{ source('raw', 'dnc_internal') }}
),

phones as (
    {{ vc_phone_dimension() }}
)

select
    dnc_internal.phone_number as phone_number_raw,
    {{ vc_phone_columns('phone', 'phone_number') }},
    dnc_internal.brand,
    dnc_internal.reason,
    dnc_internal.added_at,
    dnc_internal._source_file,
    dnc_internal._source_line,
    dnc_internal._loaded_at
from dnc_internal
left join phones as phone on dnc_internal.phone_number = phone.raw
