{#-
    dnc.registry_freshness: one row per registry of dnc_registries_by_country
    and UTC day on which telemarketing calls were placed to numbers of its
    country. Age = the day minus the date of the newest file (snapshot or
    change list) effective on or before it; a violation when age >
    dnc_registry_max_age_days or when no file is effective on or before the
    day (even if later files exist, or none was ever loaded). A full
    snapshot that listed no number does not count (stg_registry__files.
    counts_as_list): membership keeps the earlier list, so the registry is
    as old as that list. Computed from
    registry.files (the same definition as registry.load_history, which stops
    at the load date) so days after the last load are judged too.
-#}
{%- set clause_id = 'dnc.registry_freshness' -%}
{{ vc_clause_config(clause_id) }}

with

calls as (

    select callee_country, call_date from {{ ref('int_calls_enriched') }}
    where is_telemarketing

),

country_registries as (

    select country, registry, max_age_days from {{ ref('int_dnc_country_registries') }}

),

files as (

    -- a full snapshot that listed nothing is not counted (decision 0003)
    select registry, effective_date, list_kind, landing_key
    from {{ ref('stg_registry__files') }}
    where counts_as_list

),

registry_days as (

    select
        country_registries.registry,
        calls.call_date,
        max(country_registries.max_age_days) as max_age_days,
        count(*) as telemarketing_calls
    from calls
    inner join country_registries on calls.callee_country = country_registries.country
    group by country_registries.registry, calls.call_date

),

newest as (

    select
        registry_days.registry,
        registry_days.call_date,
        registry_days.max_age_days,
        registry_days.telemarketing_calls,
        max(files.effective_date) as newest_file_date,
        max(case when files.list_kind = 'full' then files.effective_date end) as latest_full_date
    from registry_days
    left join files
        on registry_days.registry = files.registry
        and registry_days.call_date >= files.effective_date
    group by
        registry_days.registry,
        registry_days.call_date,
        registry_days.max_age_days,
        registry_days.telemarketing_calls

),

newest_files as (

    select
        newest.registry,
        newest.call_date,
        {{ dbt.listagg('files.landing_key', "', '", 'order by files.landing_key') }} as newest_files
    from newest
    inner join files
        on newest.registry = files.registry
        and newest.newest_file_date = files.effective_date
    group by newest.registry, newest.call_date

),

aged as (

    select
        newest.*,
        newest_files.newest_files,
        {{ dbt.datediff('newest.newest_file_date', 'newest.call_date', 'day') }} as age_days
    from newest
    left join newest_files
        on newest.registry = newest_files.registry
        and newest.call_date = newest_files.call_date

),

final as (

    select
        '{{ clause_id }}' as clause_id,
        'registry_day' as subject_type,
        {{ dbt.concat(['registry', "'/'", vc_date_string('call_date')]) }} as subject_id,
        cast(null as {{ dbt.type_string() }}) as account_sid,
        call_date as period_start,
        newest_file_date is null or age_days > max_age_days as is_violation,
        {{ vc_clause_severity(clause_id) }} as severity,
        {{ vc_json_object([
            ('registry', 'registry'),
            ('day', dbt.cast('call_date', dbt.type_string())),
            ('newest_file_date', dbt.cast('newest_file_date', dbt.type_string())),
            ('newest_files', 'newest_files'),
            ('latest_full_date', dbt.cast('latest_full_date', dbt.type_string())),
            ('age_days', 'age_days'),
            ('max_age_days', 'max_age_days'),
            ('telemarketing_calls', 'telemarketing_calls'),
        ]) }} as evidence
    from aged

)

select * from final
