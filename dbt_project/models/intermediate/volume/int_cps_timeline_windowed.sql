{#-
    cps.multi_region, step 3: for every bucket of the spine, the concurrent-hot
    buckets among the window of cps_window_hours ending with it (policy: the
    1,440 one-minute buckets ending with b), counted with ROWS over the
    complete spine. A bucket is exceeding when they amount to more than
    cps_max_concurrent_hot_hours (more than 360 one-minute buckets).
-#}
{%- set bucket_s = var('cps_bucket_seconds') | int -%}
{%- set window_buckets = (var('cps_window_hours') * 3600 // bucket_s) | int -%}
{%- set max_hot_buckets = (var('cps_max_concurrent_hot_hours') * 3600 / bucket_s) -%}
with

spine as (

    select * from {{ ref('int_cps_bucket_spine') }}

),

windowed as (

    select
        account_sid,
        bucket_index,
        hot_regions,
        is_concurrent_hot,
        sum(case when is_concurrent_hot then 1 else 0 end) over (
            partition by account_sid
            order by bucket_index
            rows between {{ window_buckets - 1 }} preceding and current row
        ) as concurrent_hot_in_window
    from spine

),

final as (

    select
        account_sid,
        bucket_index,
        {{ vc_epoch_plus_seconds('bucket_index * ' ~ bucket_s) }} as bucket_start_utc,
        hot_regions,
        is_concurrent_hot,
        concurrent_hot_in_window,
        concurrent_hot_in_window > {{ max_hot_buckets }} as is_exceeding
    from windowed

)

select * from final
