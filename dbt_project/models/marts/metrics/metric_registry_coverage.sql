{#-
    Do-not-call registry coverage per callee country with telemarketing
    calls: 'covered' when every registry dnc_registries_by_country expects
    for the country has at least one file loaded, 'missing' when any has
    none (a data-quality failure: such calls cannot be checked by
    dnc.registry, so they are never reported as clean), 'not_required' when
    the policy names no registry for the country. Calls whose callee has no
    country (invalid number) are left out.
-#}

with

calls as (

    select callee_country, call_date from {{ ref('int_calls_enriched') }}
    where is_telemarketing and callee_country is not null

),

coverage as (

    select * from {{ ref('int_dnc_registry_coverage') }}

),

calls_per_country as (

    select
        callee_country,
        count(*) as telemarketing_calls,
        min(call_date) as first_call_date,
        max(call_date) as last_call_date
    from calls
    group by callee_country

),

final as (

    select
        calls_per_country.callee_country,
        case
            when coverage.country is null then 'not_required'
            when coverage.registries_loaded_count < coverage.registries_expected_count
                then 'missing'
            else 'covered'
        end as coverage_status,
        coalesce(coverage.registries_expected_count, 0) as registries_expected_count,
        coalesce(coverage.registries_loaded_count, 0) as registries_loaded_count,
        coverage.registries_expected,
        coverage.registries_loaded,
        coverage.registries_never_loaded,
        calls_per_country.telemarketing_calls,
        calls_per_country.first_call_date,
        calls_per_country.last_call_date
    from calls_per_country
    left join coverage on calls_per_country.callee_country = coverage.country

)

select * from final
