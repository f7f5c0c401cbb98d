{#-
    cps.multi_region: one row per account with at least two home regions and
    UTC day with outbound attempts (int_cps_days_summarized; single-region
    accounts never violate and are not subjects); a violation on each day on
    which an episode (a maximal run of exceeding buckets,
    int_cps_episodes_detected) starts, with its bounds (first and last bucket
    starts, exclusive end) and peak.
-#}
{%- set clause_id = 'cps.multi_region' -%}
{{ vc_clause_config(clause_id) }}
{%- set bucket_s = var('cps_bucket_seconds') | int -%}
with

account_days as (

    select * from {{ ref('int_cps_days_summarized') }}

),

episodes as (

    select * from {{ ref('int_cps_episodes_detected') }}

),

episode_days as (

    select
        account_sid,
        episode_start_date as subject_date,
        count(*) as episodes_started,
        min(episode_start_utc) as episode_start_utc,
        -- both bucket starts (the first and the last exceeding bucket), and
        -- the exclusive end: the end of the last exceeding bucket
        {{ dbt.dateadd('second', -bucket_s, 'max(episode_end_utc)') }} as episode_last_bucket_utc,
        max(episode_end_utc) as episode_end_exclusive_utc,
        sum(exceeding_buckets) as exceeding_buckets,
        max(peak_concurrent_hot_buckets) as peak_concurrent_hot_buckets
    from episodes
    group by account_sid, episode_start_date

),

final as (

    select
        '{{ clause_id }}' as clause_id,
        'account_day' as subject_type,
        {{ dbt.concat([
            'account_days.account_sid', "'/'", vc_date_string('account_days.subject_date')
        ]) }} as subject_id,
        account_days.account_sid,
        account_days.subject_date as period_start,
        episode_days.account_sid is not null as is_violation,
        {{ vc_clause_severity(clause_id) }} as severity,
        {{ vc_json_object([
            ('attempts', 'account_days.attempts'),
            ('concurrent_hot_buckets', 'account_days.concurrent_hot_buckets'),
            ('max_concurrent_hot_in_window', 'account_days.max_concurrent_hot_in_window'),
            ('episodes_started', 'coalesce(episode_days.episodes_started, 0)'),
            ('episode_start_utc', dbt.cast('episode_days.episode_start_utc', dbt.type_string())),
            ('episode_last_bucket_utc', dbt.cast('episode_days.episode_last_bucket_utc', dbt.type_string())),
            ('episode_end_exclusive_utc', dbt.cast('episode_days.episode_end_exclusive_utc', dbt.type_string())),
            ('episode_end_utc', dbt.cast('episode_days.episode_end_exclusive_utc', dbt.type_string())),
            ('exceeding_buckets', 'episode_days.exceeding_buckets'),
            ('peak_concurrent_hot_buckets', 'episode_days.peak_concurrent_hot_buckets'),
            ('cps_bucket_seconds', var('cps_bucket_seconds')),
            ('cps_hot_share_of_allotted', var('cps_hot_share_of_allotted')),
            ('cps_min_hot_regions', var('cps_min_hot_regions')),
            ('cps_window_hours', var('cps_window_hours')),
            ('cps_max_concurrent_hot_hours', var('cps_max_concurrent_hot_hours')),
        ]) }} as evidence
    from account_days
    left join episode_days
        on account_days.account_sid = episode_days.account_sid
        and account_days.subject_date = episode_days.subject_date

)

select * from final
