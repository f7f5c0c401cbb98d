-- One row per campaign_id: the most recently loaded definition wins.
with

campaigns as (
    select * from {{ source('raw', 'campaigns') }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by campaign_id
            order by _loaded_at desc nulls last, _source_file desc, _source_line desc
        ) as copy_rank
    from campaigns
)

select
    campaign_id,
    account_sid,
    brand,
    purpose,
    _source_file,
    _source_line,
    _loaded_at
from ranked
where copy_rank = 1
