-- One row per complaint_id (policy "Complaints are deduplicated by
-- complaint_id"): the most recently loaded copy wins. Phones normalized.
with

complaints as (
    select * from {{ source('raw', 'complaints') }}
),

phones as (
    {{ vc_phone_dimension() }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by complaint_id
            order by _loaded_at desc nulls last, _source_file desc, _source_line desc
        ) as copy_rank
    from complaints
),

deduplicated as (
    select * from ranked where copy_rank = 1
)

select
    deduplicated.complaint_id,
    deduplicated.call_sid,
    deduplicated.caller_id as caller_id_raw,
    {{ vc_phone_columns('caller_phone', 'caller_id') }},
    deduplicated.callee as callee_raw,
    {{ vc_phone_columns('callee_phone', 'callee') }},
    deduplicated.source,
    deduplicated.category,
    deduplicated.received_at,
    deduplicated._source_file,
    deduplicated._source_line,
    deduplicated._loaded_at
from deduplicated
left join phones as caller_phone on deduplicated.caller_id = caller_phone.raw
left join phones as callee_phone on deduplicated.callee = callee_phone.raw
