-- One row per call_sid: the most recently loaded mapping wins.
with

call_metadata as (
    select * from {{ source('raw', 'call_metadata') }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by call_sid
            order by _loaded_at desc nulls last, _source_file desc, _source_line desc
        ) as copy_rank
    from call_metadata
)

select
    call_sid,
    campaign_id,
    _source_file,
    _source_line,
    _loaded_at
from ranked
where copy_rank = 1
