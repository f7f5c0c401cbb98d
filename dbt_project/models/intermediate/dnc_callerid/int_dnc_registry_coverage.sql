{#-
    Per country of dnc_registries_by_country: the registries expected, those
    with at least one file ever loaded, and those never loaded. A registry
    never loaded leaves its country without coverage (a data-quality failure,
    never "clean"). A full snapshot that listed no number is not a loaded
    file (stg_registry__files.counts_as_list): a registry with nothing else
    has no list to check calls against.
-#}
{%- set by_registry = 'order by registry' -%}

with

country_registries as (

    select country, registry from {{ ref('int_dnc_country_registries') }}

),

files as (

    -- a full snapshot that listed nothing does not count (decision 0003)
    select registry, effective_date from {{ ref('stg_registry__files') }}
    where counts_as_list

),

files_per_registry as (

    select registry, count(*) as files_loaded, min(effective_date) as first_file_date
    from files
    group by registry

),

registries as (

    select
        country_registries.country,
        country_registries.registry,
        case when files_per_registry.registry is not null then country_registries.registry end
            as loaded_registry,
        case when files_per_registry.registry is null then country_registries.registry end
            as unloaded_registry,
        coalesce(files_per_registry.files_loaded, 0) as files_loaded,
        files_per_registry.first_file_date
    from country_registries
    left join files_per_registry on country_registries.registry = files_per_registry.registry

),

final as (

    select
        country,
        count(*) as registries_expected_count,
        count(loaded_registry) as registries_loaded_count,
        {{ dbt.listagg('registry', "', '", by_registry) }} as registries_expected,
        {{ dbt.listagg('loaded_registry', "', '", by_registry) }} as registries_loaded,
        {{ dbt.listagg('unloaded_registry', "', '", by_registry) }} as registries_never_loaded,
        cast(sum(files_loaded) as {{ dbt.type_bigint() }}) as files_loaded,
        min(first_file_date) as first_file_date
    from registries
    group by country

)

select * from final
