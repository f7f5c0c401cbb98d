"""Point-in-time do-not-call registry state, derived in SQL from raw entries.

``registry.membership(registry, e164, listed_from, listed_to)``: a number is
listed on ``[listed_from, listed_to)`` (dates, effective from 00:00 UTC; NULL
``listed_to`` = still listed). Files apply in date order; on one date the
full snapshot applies first, then change lists (by file name, then line).
A full snapshot replaces the whole list: a number it omits is delisted.

``registry.files``: one row per loaded registry file (kind, effective date).
``registry.load_history(registry, day, ...)``: for every day from a
registry's first file to today (or its last file, if later), the newest file
effective on or before that day, the latest full snapshot, and the age in
days, which is what the freshness rule reads.
"""

from __future__ import annotations

import duckdb

from voice_compliance.loading.loader import ensure_raw_table
from voice_compliance.loading.sources import REGISTRIES

_FILES = """
create or replace table registry.files as
select
    replace(source, 'registry_', '') as registry,
    source_uri, landing_key, file_id,
    partition_info->>'$.list_kind' as list_kind,
    try_cast(partition_info->>'$.effective_date' as date) as effective_date,
    rows_loaded, loaded_at
from compliance.load_manifest
where starts_with(source, 'registry_')
  and status not in ('unreadable', 'unrecognized')
  and try_cast(partition_info->>'$.effective_date' as date) is not null
"""

_MEMBERSHIP = """
create or replace table registry.membership as
with day_state as (
    -- the last word on a number on each date: snapshot first, then changes
    select registry, e164, effective_date as d,
        arg_max(action <> 'D',
            (case list_kind when 'full' then 0 else 1 end, _source_file, _source_line)) as listed
    from raw.registry_entries
    group by registry, e164, effective_date
),
full_dates as (
    select distinct registry, effective_date as d
    from raw.registry_entries where list_kind = 'full'
),
next_full as (
    select s.registry, s.e164, s.d, s.listed,
        lead(s.d) over (partition by s.registry, s.e164 order by s.d) as next_event,
        (select min(f.d) from full_dates as f where f.registry = s.registry and f.d > s.d)
            as next_snapshot
    from day_state as s
),
spans as (
    -- listed until the number's next event or the next snapshot (which
    -- either lists it again, as an event of its own, or drops it)
    select registry, e164, d as listed_from,
        case
            when next_event is null then next_snapshot
            when next_snapshot is null then next_event
            else least(next_event, next_snapshot)
        end as listed_to
    from next_full
    where listed
),
islands as (
    select *, sum(starts_island) over (
        partition by registry, e164 order by listed_from rows unbounded preceding) as island
    from (
        select *, case when lag(listed_to) over (
            partition by registry, e164 order by listed_from) = listed_from
            then 0 else 1 end as starts_island
        from spans
    ) as flagged
)
select registry, e164, min(listed_from) as listed_from,
    case when bool_or(listed_to is null) then null else max(listed_to) end as listed_to
from islands
group by registry, e164, island
"""

_HISTORY = """
create or replace table registry.load_history as
with bounds as (
    select registry, min(effective_date) as first_day,
        greatest(max(effective_date), current_date) as last_day
    from registry.files group by registry
),
days as (
    select registry, unnest(generate_series(first_day, last_day, interval 1 day))::date as day
    from bounds
),
dated as (
    select registry, effective_date,
        string_agg(distinct list_kind, '+' order by list_kind desc) as kinds,
        list(landing_key order by landing_key) as files
    from registry.files group by registry, effective_date
),
newest as (
    select d.registry, d.day, max(f.effective_date) as newest_file_date,
        max(f.effective_date) filter (where f.list_kind = 'full') as latest_full_date
    from days as d
    join registry.files as f on f.registry = d.registry and f.effective_date <= d.day
    group by d.registry, d.day
)
select n.registry, n.day, n.newest_file_date, t.kinds as newest_file_kinds,
    t.files as newest_files, n.latest_full_date,
    datediff('day', n.newest_file_date, n.day) as age_days
from newest as n
join dated as t on t.registry = n.registry and t.effective_date = n.newest_file_date
"""


def build(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rebuild the registry state tables; return their row counts."""
    ensure_raw_table(con, REGISTRIES[0])
    con.execute(_FILES)
    con.execute(_MEMBERSHIP)
    con.execute(_HISTORY)
    counts = {}
    for table in ("files", "membership", "load_history"):
        row = con.execute(f"select count(*) from registry.{table}").fetchone()
        counts[table] = int(row[0]) if row else 0
    return counts
