{#-
    One row per opt-out request and per internal do-not-call entry (which
    counts as an opt-out from its added_at; identical rows once), with the honour window of the
    number's (= callee's) country (optout_honor_window_by_country, else
    optout_honor_window_default) and the deadline date D counted from the
    UTC date d0 of the request: business days -> the N-th Monday-Friday date
    after d0, calendar days -> d0 + N (macros/business_days.sql). A window of
    0 days has no deadline date: any call starting after requested_at violates.
-#}
{%- set by_country = var('optout_honor_window_by_country').items() | list -%}
{%- set windows = [('default', var('optout_honor_window_default'))] + by_country -%}

with

optouts as (

    select * from {{ ref('stg_exports__optouts') }}

),

internal_dnc as (

    select * from {{ ref('stg_exports__dnc_internal') }}

),

honor_windows as (

    {%- for scope, window in windows %}
    select
        '{{ scope }}' as window_scope,
        {{ window['days'] }} as window_days,
        '{{ window['kind'] }}' as window_kind
    {{- ' union all' if not loop.last }}
    {%- endfor %}

),

requests as (

    select
        {{ dbt.concat(['_source_file', "':'", dbt.cast('_source_line', dbt.type_string())]) }}
            as request_id,
        'optout' as request_source,
        phone_number_e164 as phone_e164,
        phone_number_region_code as phone_region_code,
        brand,
        requested_at,
        method as request_detail,
        call_sid as request_call_sid
    from optouts
    union all
    select
        {{ dbt.concat(['_source_file', "':'", dbt.cast('_source_line', dbt.type_string())]) }}
            as request_id,
        'internal_dnc' as request_source,
        phone_number_e164 as phone_e164,
        phone_number_region_code as phone_region_code,
        brand,
        added_at as requested_at,
        reason as request_detail,
        cast(null as {{ dbt.type_string() }}) as request_call_sid
    from internal_dnc

),

numbered as (

    select
        *,
        -- identical requests (the same export landed again, e.g. a daily full
        -- internal list) are one request: the first copy by file and line
        row_number() over (
            partition by
                request_source, phone_e164, brand, requested_at, request_detail, request_call_sid
            order by request_id
        ) as copy_number
    from requests

),

distinct_requests as (

    select
        request_id,
        request_source,
        phone_e164,
        phone_region_code,
        brand,
        requested_at,
        request_detail,
        request_call_sid
    from numbered
    where copy_number = 1

),

windowed as (

    select
        requests.*,
        {{ vc_utc_date('requests.requested_at') }} as requested_date,
        coalesce(by_country.window_scope, fallback.window_scope) as window_scope,
        coalesce(by_country.window_days, fallback.window_days) as window_days,
        coalesce(by_country.window_kind, fallback.window_kind) as window_kind
    from distinct_requests as requests
    left join honor_windows as by_country
        on requests.phone_region_code = by_country.window_scope
    inner join honor_windows as fallback
        on fallback.window_scope = 'default'
    -- a number that does not normalize can never match a callee
    where requests.phone_e164 is not null

),

final as (

    select
        *,
        {{ vc_honor_deadline('requested_date', 'window_days', 'window_kind') }} as deadline_date
    from windowed

)

select * from final
