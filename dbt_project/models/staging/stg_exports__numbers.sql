-- The caller-id inventory, one row per inventory record, with the number
-- normalized. active_to null = still active.
with

numbers as (
    select * from {{ source('raw', 'numbers') }}
),

phones as (
    {{ vc_phone_dimension() }}
)

select
    numbers.account_sid,
    numbers.phone_number as phone_number_raw,
    {{ vc_phone_columns('phone', 'phone_number') }},
    numbers.kind,
    numbers.default_campaign_id,
    numbers.active_from,
    numbers.active_to,
    numbers._source_file,
    numbers._source_line,
    numbers._loaded_at
from numbers
left join phones as phone on numbers.phone_number = phone.raw
