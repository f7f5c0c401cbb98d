{#-
    cps.multi_region, step 1: outbound attempts per account, home region (of
    the call) and bucket of cps_bucket_seconds (by start, UTC), with the
    account's CPS allotment for that region and its number of home regions. A region is hot in a bucket when
    attempts / bucket length > cps_hot_share_of_allotted * cps_allotted, i.e.
    attempts > hot_threshold_attempts. A region without allotment is never hot.
    The threshold is exact decimal arithmetic: the allotment is loaded as a
    double, and 0.5 * 60 * 4.1 in doubles is 122.99999999999999, which would
    make a region at exactly half its allotment hot against the strict rule.
    The double goes to the decimal through its shortest text (4.1 is '4.1'),
    so the digits the export wrote count (0.0999999999 is not 0.1, ten
    decimals are kept) and none it did not write appears. share * bucket
    length keeps eight decimals. An allotment of 10^10 CPS or more gets no
    threshold (never hot): with policy.yml's bounds on the share and the
    bucket, the product cannot overflow the decimal.
-#}
{%- set bucket_s = var('cps_bucket_seconds') | int -%}
{%- set epoch = "cast('1970-01-01 00:00:00' as " ~ dbt.type_timestamp() ~ ")" -%}
with

calls as (

    select account_sid, home_region, started_at
    from {{ ref('int_calls_enriched') }}
    where started_at is not null

),

allotments as (

    select
        account_sid,
        home_region,
        cps_allotted,
        cast({{ var('cps_hot_share_of_allotted') }} * {{ bucket_s }} as decimal(18, 8))
        * {{ vc_safe_cast(dbt.cast('cps_allotted', dbt.type_string()), 'decimal(20, 10)') }}
            as hot_threshold_attempts
    from {{ ref('stg_exports__accounts') }}

),

home_regions as (

    select account_sid, count(*) as account_home_regions
    from allotments
    group by account_sid

),

bucketed as (

    select
        account_sid,
        home_region,
        cast(floor(
            {{ dbt.datediff(epoch, vc_utc_timestamp('started_at'), 'second') }} / {{ bucket_s }}
        ) as bigint) as bucket_index
    from calls

),

counted as (

    select account_sid, home_region, bucket_index, count(*) as attempts
    from bucketed
    group by account_sid, home_region, bucket_index

),

final as (

    select
        counted.account_sid,
        counted.home_region,
        counted.bucket_index,
        {{ vc_epoch_plus_seconds('counted.bucket_index * ' ~ bucket_s) }} as bucket_start_utc,
        counted.attempts,
        coalesce(home_regions.account_home_regions, 0) as account_home_regions,
        allotments.cps_allotted,
        allotments.hot_threshold_attempts,
        coalesce(counted.attempts > allotments.hot_threshold_attempts, false) as is_hot
    from counted
    left join allotments
        on counted.account_sid = allotments.account_sid
        and counted.home_region = allotments.home_region
    left join home_regions
        on counted.account_sid = home_regions.account_sid

)

select * from final
