-- One row per (account, home region): the most recently loaded allotment wins.
with

accounts as (
    select * from {{ source('raw', 'accounts') }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by account_sid, region
            order by _loaded_at desc nulls last, _source_file desc, _source_line desc
        ) as copy_rank
    from accounts
)

select
    account_sid,
    region as home_region,
    cps_allotted,
    _source_file,
    _source_line,
    _loaded_at
from ranked
where copy_rank = 1
