{#-
    cps.multi_region, step 4: episodes, i.e. maximal runs of consecutive
    exceeding buckets (gaps and islands: in a run, bucket_index minus its rank
    is constant), with start, end (exclusive: end of the last exceeding
    bucket), length and peak of concurrent-hot buckets in the window.
-#}
{%- set bucket_s = var('cps_bucket_seconds') | int -%}
with

exceeding as (

    select
        account_sid,
        bucket_index,
        bucket_start_utc,
        concurrent_hot_in_window,
        bucket_index - row_number() over (
            partition by account_sid order by bucket_index
        ) as run_key
    from {{ ref('int_cps_timeline_windowed') }}
    where is_exceeding

),

final as (

    select
        account_sid,
        min(bucket_index) as first_bucket_index,
        max(bucket_index) as last_bucket_index,
        min(bucket_start_utc) as episode_start_utc,
        {{ dbt.dateadd('second', bucket_s, 'max(bucket_start_utc)') }} as episode_end_utc,
        cast(min(bucket_start_utc) as date) as episode_start_date,
        count(*) as exceeding_buckets,
        max(concurrent_hot_in_window) as peak_concurrent_hot_buckets
    from exceeding
    group by account_sid, run_key

)

select * from final
