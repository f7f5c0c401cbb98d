{#-
    cps.multi_region, step 2: the complete bucket timeline (policy "CPS
    buckets": every bucket, including those with no calls) of each account
    with at least two home regions, with its hot regions per bucket;
    concurrent-hot = at least cps_min_hot_regions regions hot. The spine runs
    from the first concurrent-hot bucket to the last one plus a window less
    one bucket (outside, no window holds a concurrent-hot bucket), island by
    island: concurrent-hot buckets a window or more apart share no window, so
    the buckets between their islands are left out (two hot minutes decades
    apart made a spine of millions of buckets). Each island ends with a
    window less one of buckets that are not concurrent-hot, so the windows of
    the next island (ROWS over the spine) count exactly what they would over
    every bucket. Integers 0..99,999 from a portable digit cross join give
    offsets in a window and window numbers.
-#}
{%- set window_s = var('cps_window_hours') * 3600 -%}
{%- set window_buckets = (window_s // var('cps_bucket_seconds')) | int -%}
{%- if window_s % var('cps_bucket_seconds') != 0 or window_buckets > 100000 -%}
    {{ exceptions.raise_compiler_error('cps_window_hours must be 1 to 100,000 whole cps_bucket_seconds') }}
{%- endif -%}
with

hot_regions as (

    select account_sid, bucket_index, count(*) as hot_regions
    from {{ ref('int_cps_buckets_counted') }}
    where is_hot and account_home_regions >= 2
    group by account_sid, bucket_index

),

gaps as (

    select
        account_sid,
        bucket_index,
        bucket_index
        - lag(bucket_index) over (partition by account_sid order by bucket_index) as gap
    from hot_regions
    where hot_regions >= {{ var('cps_min_hot_regions') }}

),

islands as (

    select
        account_sid,
        bucket_index,
        sum(case when gap < {{ window_buckets }} then 0 else 1 end) over (
            partition by account_sid order by bucket_index
            rows between unbounded preceding and current row
        ) as island
    from gaps

),

ranges as (

    select
        account_sid,
        island,
        min(bucket_index) as first_bucket,
        max(bucket_index) + {{ window_buckets - 1 }} as last_bucket
    from islands
    group by account_sid, island

),

digits as (
    select t.digit from (values (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)) as t (digit)
),

integers as (

    select d0.digit + 10 * d1.digit + 100 * d2.digit + 1000 * d3.digit + 10000 * d4.digit as n
    from digits as d0
    cross join digits as d1
    cross join digits as d2
    cross join digits as d3
    cross join digits as d4

),

spine as (

    select
        ranges.account_sid,
        ranges.first_bucket + window_numbers.n * {{ window_buckets }} + offsets.n as bucket_index,
        ranges.last_bucket
    from ranges
    inner join integers as window_numbers
        on window_numbers.n * {{ window_buckets }} <= ranges.last_bucket - ranges.first_bucket
    cross join integers as offsets
    where offsets.n < {{ window_buckets }}

),

final as (

    select
        spine.account_sid,
        spine.bucket_index,
        coalesce(hot_regions.hot_regions, 0) as hot_regions,
        coalesce(hot_regions.hot_regions, 0) >= {{ var('cps_min_hot_regions') }}
            as is_concurrent_hot
    from spine
    left join hot_regions
        on spine.account_sid = hot_regions.account_sid
        and spine.bucket_index = hot_regions.bucket_index
    where spine.bucket_index <= spine.last_bucket

)

select * from final
