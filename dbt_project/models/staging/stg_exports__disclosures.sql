-- One disclosure record per call_sid: the most recently loaded wins.
with

disclosures as (
    select * from {{ source('raw', 'disclosures') }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by call_sid
            order by _loaded_at desc nulls last, _source_file desc, _source_line desc
        ) as copy_rank
    from disclosures
)

select
    call_sid,
    identity_disclosed_at_s,
    purpose_disclosed_at_s,
    opt_out_offered,
    _source_file,
    _source_line,
    _loaded_at
from ranked
where copy_rank = 1
