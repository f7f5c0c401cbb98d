{#-
    Point-in-time registry membership of the numbers that telemarketing
    calls reached: e164 is listed on registry during [listed_from, listed_to)
    (dates from 00:00 UTC; null listed_to = still listed).

    Policy "Registry files": on each date the full snapshot applies first,
    then change lists by file name and line; a listed state lasts until the
    number's next event or the registry's next full snapshot, whichever is
    first (a snapshot that omits the number delists it); touching intervals
    are merged.

    Only the callees of telemarketing calls in a country the registry covers
    are replayed: the DNC rule joins calls to this model, and the registry
    (hundreds of millions of numbers) is read once, filtered by a semi-join,
    never expanded whole. Coverage and freshness read the file list instead.
-#}

with

calls as (

    select callee_country, to_e164 from {{ ref('int_calls_enriched') }}
    where is_telemarketing and to_e164 is not null

),

callees as (

    -- the same numbers, as the registry stores them (digits as an integer),
    -- in a CTE of their own that only `entries` reads: DuckDB inlines a CTE
    -- read once, and can then push the semi-join below as a Bloom filter
    -- into the scan of the registry lines. Read from the shared `calls`, the
    -- CTE is materialized instead, all 61 M lines reach the join, and under
    -- memory pressure the join spilled them (5 GB, 20-30 s at 1 M calls
    -- instead of 1-2 s)
    select {{ vc_e164_number('to_e164') }} as e164_number
    from {{ ref('int_calls_enriched') }}
    where is_telemarketing and to_e164 is not null

),

entries as (

    -- only the lines of numbers a telemarketing call reached: a filter on
    -- the stored lines, by their stored number, before each line is joined
    -- to its file's registry (raw.registry_entries is a view, decisions
    -- 0028 and 0031)
    select registry, list_kind, effective_date, e164, action, file_id, _source_file, _source_line
    from {{ ref('stg_registry__entries') }}
    where e164_number in (select callees.e164_number from callees)

),

country_registries as (

    select country, registry from {{ ref('int_dnc_country_registries') }}

),

files as (

    select registry, list_kind, effective_date, file_id, landing_key, counts_as_list
    from {{ ref('stg_registry__files') }}

),

called_numbers as (

    select distinct country_registries.registry, calls.to_e164 as e164
    from calls
    inner join country_registries on calls.callee_country = country_registries.country

),

called_entries as (

    select entries.*
    from entries
    inner join called_numbers
        on entries.registry = called_numbers.registry
        and entries.e164 = called_numbers.e164

),

snapshot_dates as (

    -- dates on which a full snapshot listed at least one number
    select distinct registry, effective_date
    from files
    where list_kind = 'full' and counts_as_list

),

day_states as (

    -- the last word on a number on each date: the snapshot, then changes
    select
        registry,
        e164,
        effective_date,
        action <> 'D' as is_listed,
        row_number() over (
            partition by registry, e164, effective_date
            order by
                case when list_kind = 'full' then 0 else 1 end desc,
                _source_file desc,
                _source_line desc
        ) as word_rank
    from called_entries

),

events as (

    select
        registry,
        e164,
        effective_date,
        is_listed,
        lead(effective_date) over (
            partition by registry, e164 order by effective_date
        ) as next_event_date
    from day_states
    where word_rank = 1

),

next_snapshots as (

    select
        events.registry,
        events.e164,
        events.effective_date,
        min(snapshot_dates.effective_date) as next_snapshot_date
    from events
    inner join snapshot_dates
        on events.registry = snapshot_dates.registry
        and snapshot_dates.effective_date > events.effective_date
    where events.is_listed
    group by events.registry, events.e164, events.effective_date

),

spans as (

    -- listed until the number's next event or the next snapshot (which
    -- either lists it again, as an event of its own, or drops it)
    select
        events.registry,
        events.e164,
        events.effective_date as listed_from,
        case
            when events.next_event_date is null then next_snapshots.next_snapshot_date
            when next_snapshots.next_snapshot_date is null then events.next_event_date
            when events.next_event_date < next_snapshots.next_snapshot_date
                then events.next_event_date
            else next_snapshots.next_snapshot_date
        end as listed_to
    from events
    left join next_snapshots
        on events.registry = next_snapshots.registry
        and events.e164 = next_snapshots.e164
        and events.effective_date = next_snapshots.effective_date
    where events.is_listed

),

flagged as (

    select
        *,
        case
            when listed_from = lag(listed_to) over registry_number then 0
            else 1
        end as starts_island
    from spans
    window registry_number as (partition by registry, e164 order by listed_from)

),

islands as (

    select
        *,
        sum(starts_island) over (
            partition by registry, e164 order by listed_from rows unbounded preceding
        ) as island
    from flagged

),

merged as (

    select
        registry,
        e164,
        min(listed_from) as listed_from,
        case
            when max(case when listed_to is null then 1 else 0 end) = 1 then null
            else max(listed_to)
        end as listed_to
    from islands
    group by registry, e164, island

),

listing_entry_files as (

    -- the files that list the number on a date (a snapshot row or an
    -- addition), not every file effective that date: a same-day snapshot
    -- that omits the number, or a change list that does not name it, proves
    -- nothing about it
    select distinct
        called_entries.registry,
        called_entries.e164,
        called_entries.effective_date,
        files.landing_key
    from called_entries
    inner join files on called_entries.file_id = files.file_id
    where called_entries.action <> 'D'

),

listing_files as (

    select
        registry,
        e164,
        effective_date,
        {{ dbt.listagg('landing_key', "', '", 'order by landing_key') }} as listing_files
    from listing_entry_files
    group by registry, e164, effective_date

),

final as (

    select
        merged.registry,
        merged.e164,
        merged.listed_from,
        merged.listed_to,
        listing_files.listing_files
    from merged
    left join listing_files
        on merged.registry = listing_files.registry
        and merged.e164 = listing_files.e164
        and merged.listed_from = listing_files.effective_date

)

select * from final
