-- A table, not a view like the rest of staging: the copy ranking below reads
-- every loaded call, and a view would redo it for each of its data tests and
-- readers in a run (decision 0022). Incremental by call (decision 0027): an
-- incremental run ranks again only the calls whose copies changed.
{{ config(
    materialized="incremental",
    incremental_strategy="append",
    on_schema_change="fail",
    pre_hook="{{ vc_delete_recopied_calls() }}",
) }}
-- depends_on: {{ ref('int_manifest_snapshot') }}
-- int_days_changed reads this model's previous state: it runs first.
-- depends_on: {{ ref('int_days_changed') }}

-- One row per call: the copy with the latest date_updated wins, then the most
-- recently loaded, then the last file and line (policy "Duplicated calls").
with

calls as (
    select * from {{ source('raw', 'calls') }} as copies
    {%- if vc_is_incremental() %}
    -- the pre-hook deleted the calls whose copies changed: rank those again
    -- (and new calls), every copy of each
    where
        not exists (
            select 1 from {{ this }} as derived where derived.call_sid = copies.sid
        )
    {%- endif %}
),

phones as (
    {{ vc_phone_dimension() }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by sid
            order by
                date_updated desc nulls last,
                _loaded_at desc nulls last,
                _source_file desc,
                _source_line desc
        ) as copy_rank,
        count(*) over (partition by sid) as copies_loaded
    from calls
),

deduplicated as (
    select * from ranked where copy_rank = 1
)

select
    deduplicated.sid as call_sid,
    deduplicated.account_sid,
    deduplicated.parent_call_sid,
    deduplicated.trunk_sid,
    deduplicated.home_region,
    deduplicated.from_number as from_raw,
    {{ vc_phone_columns('from_phone', 'from') }},
    deduplicated.to_number as to_raw,
    {{ vc_phone_columns('to_phone', 'to', time_zones=true) }},
    deduplicated.status,
    deduplicated.direction,
    deduplicated.answered_by,
    coalesce(deduplicated.duration, 0) as duration_s,
    deduplicated.queue_time as queue_time_s,
    deduplicated.price,
    deduplicated.price_unit,
    deduplicated.caller_name,
    deduplicated.start_time as started_at,
    deduplicated.end_time as ended_at,
    deduplicated.date_created,
    deduplicated.date_updated,
    deduplicated.copies_loaded,
    deduplicated._source_file,
    deduplicated._source_line,
    deduplicated._loaded_at
from deduplicated
left join phones as from_phone on deduplicated.from_number = from_phone.raw
left join phones as to_phone on deduplicated.to_number = to_phone.raw
