{{ vc_incremental_by_period('call_date') }}
{#-
    One row per telemarketing outbound attempt and per national registry of
    its callee's country that listed the callee at the call start: point-in-
    time membership, listed_from <= the call's UTC date < listed_to (null =
    still listed), registry files being effective from 00:00 UTC of their
    date. listing_files names the registry file(s) that put the number on
    the list on listed_from (int_dnc_registry_membership: only files whose
    rows list the number, never a same-day file that does not name it).
    The interval's end is not carried: a later deletion or snapshot moves it
    for earlier calls, which an incremental run does not derive again, so it
    would say one thing after a day-by-day run and another after a full one
    (decision 0012). Whether the callee was listed at the call never changes.
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

    select registry, e164, listed_from, listed_to, listing_files
    from {{ ref('int_dnc_registry_membership') }}

),

listings as (

    select
        calls.call_sid,
        membership.registry,
        membership.e164,
        calls.call_date,
        membership.listed_from,
        membership.listing_files
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
        call_sid,
        registry,
        e164,
        call_date,
        listed_from,
        listing_files
    from listings

)

select * from final
