{{ vc_incremental_by_period('call_date') }}
{#-
    One row per telemarketing outbound attempt and per national registry of
    its callee's country that listed the callee at the call start: point-in-
    time membership, listed_from <= the call's UTC date < listed_to (null =
    still listed), registry files being effective from 00:00 UTC of their
    date. listing_files names the registry file(s) effective on listed_from,
    the file that put the number on the list.
-#}

with

calls as (

    select call_sid, callee_country, to_e164, call_date
    from {{ ref('int_calls_enriched') }}
    where is_telemarketing and to_e164 is not null and {{ vc_in_changed_days('call_date') }}

),

country_registries as (

    select country, registry from {{ ref('int_dnc_country_registries') }}

),

membership as (

    select registry, e164, listed_from, listed_to from {{ ref('int_dnc_registry_membership') }}

),

files as (

    select registry, effective_date, list_kind, landing_key from {{ ref('stg_registry__files') }}

),

listings as (

    select
        calls.call_sid,
        membership.registry,
        membership.e164,
        calls.call_date,
        membership.listed_from,
        membership.listed_to
    from calls
    inner join country_registries
        on calls.callee_country = country_registries.country
    inner join membership
        on country_registries.registry = membership.registry
        and calls.to_e164 = membership.e164
        and calls.call_date >= membership.listed_from
        and (membership.listed_to is null or calls.call_date < membership.listed_to)

),

final as (

    select
        listings.call_sid,
        listings.registry,
        listings.e164,
        listings.call_date,
        listings.listed_from,
        listings.listed_to,
        {{ dbt.listagg('files.landing_key', "', '", 'order by files.landing_key') }}
            as listing_files
    from listings
    left join files
        on listings.registry = files.registry
        and listings.listed_from = files.effective_date
    group by
        listings.call_sid,
        listings.registry,
        listings.e164,
        listings.call_date,
        listings.listed_from,
        listings.listed_to

)

select * from final
