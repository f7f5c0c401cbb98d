{{ vc_incremental_by_period('call_date') }}
{#-
    One row per telemarketing outbound attempt and per opt-out or internal
    do-not-call entry of its callee that applies to it (brand null = all
    brands, else the call's brand) and was requested at or before the call
    (a later request cannot be breached by it, and a later file must not
    change an earlier day's rows), judged: is_breached when the call's UTC
    date is after the deadline date, or, for a window of 0 days, when the
    call starts after requested_at (exactly at requested_at is allowed).
-#}

with

calls as (

    select * from {{ ref('int_calls_enriched') }}
    where is_telemarketing and {{ vc_in_changed_days('call_date') }}

),

requests as (

    select * from {{ ref('int_optout_deadlines') }}

),

final as (

    select
        calls.call_sid,
        requests.request_id,
        requests.request_source,
        requests.brand as request_brand,
        requests.requested_at,
        requests.window_days,
        requests.window_kind,
        requests.deadline_date,
        calls.started_at,
        calls.call_date,
        case
            when requests.window_days = 0 then calls.started_at > requests.requested_at
            else calls.call_date > requests.deadline_date
        end as is_breached
    from calls
    inner join requests
        on calls.to_e164 = requests.phone_e164
        and (requests.brand is null or requests.brand = calls.brand)
        and requests.requested_at <= calls.started_at

)

select * from final
