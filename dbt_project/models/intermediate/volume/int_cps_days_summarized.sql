{#-
    cps.multi_region, the subjects: one row per account with at least two
    home regions and UTC day with outbound attempts (day of the bucket start),
    with the day's concurrent-hot buckets and the highest count of
    concurrent-hot buckets in a window ending with one of the day's buckets.
-#}
with

buckets as (

    select * from {{ ref('int_cps_buckets_counted') }}
    where account_home_regions >= 2

),

timeline as (

    select * from {{ ref('int_cps_timeline_windowed') }}

),

account_days as (

    select account_sid, cast(bucket_start_utc as date) as subject_date, sum(attempts) as attempts
    from buckets
    group by account_sid, cast(bucket_start_utc as date)

),

timeline_days as (

    select
        account_sid,
        cast(bucket_start_utc as date) as subject_date,
        sum(case when is_concurrent_hot then 1 else 0 end) as concurrent_hot_buckets,
        max(concurrent_hot_in_window) as max_concurrent_hot_in_window
    from timeline
    group by account_sid, cast(bucket_start_utc as date)

),

final as (

    select
        account_days.account_sid,
        account_days.subject_date,
        account_days.attempts,
        coalesce(timeline_days.concurrent_hot_buckets, 0) as concurrent_hot_buckets,
        coalesce(timeline_days.max_concurrent_hot_in_window, 0) as max_concurrent_hot_in_window
    from account_days
    left join timeline_days
        on account_days.account_sid = timeline_days.account_sid
        and account_days.subject_date = timeline_days.subject_date

)

select * from final
