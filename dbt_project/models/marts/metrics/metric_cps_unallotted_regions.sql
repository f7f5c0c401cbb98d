{#-
    cps.multi_region data-quality metric (policy "CPS buckets": a region that
    has calls but no allotment is never hot and is reported as a data-quality
    failure): one row per account, home region of its calls and UTC month
    with outbound attempts from a region that accounts does not allot to
    that account. Expected empty.
-#}
with

buckets as (

    select
        *,
        cast({{ dbt.date_trunc('month', 'bucket_start_utc') }} as date) as month_start
    from {{ ref('int_cps_buckets_counted') }}
    where cps_allotted is null

),

final as (

    select
        'cps.multi_region' as clause_id,
        account_sid,
        home_region,
        substring({{ vc_date_string('month_start') }}, 1, 7) as metric_month,
        month_start,
        sum(attempts) as attempts,
        count(*) as buckets_with_attempts,
        min(bucket_start_utc) as first_bucket_start_utc,
        max(bucket_start_utc) as last_bucket_start_utc
    from buckets
    group by account_sid, home_region, month_start

)

select * from final
