{#-
    One row per complaint (staging keeps one copy per complaint_id), attributed
    to an originating number (policy "Precise edges", Complaints): when its
    call_sid matches a loaded call (any direction), to that call's `from`
    number; otherwise to its normalized caller_id. Counted in the UTC month of
    received_at. A complaint with neither has a null number_e164.
-#}
with

complaints as (

    select * from {{ ref('stg_exports__complaints') }}

),

calls as (

    select call_sid, account_sid, from_e164 from {{ ref('stg_twilio__calls') }}

),

final as (

    select
        complaints.complaint_id,
        complaints.call_sid,
        case
            when calls.call_sid is not null then calls.from_e164
            else complaints.caller_id_e164
        end as number_e164,
        case
            when calls.call_sid is not null then 'call_sid'
            when complaints.caller_id_e164 is not null then 'caller_id'
            else 'unattributed'
        end as attributed_via,
        calls.account_sid as call_account_sid,
        complaints.caller_id_raw,
        complaints.caller_id_e164,
        complaints.source,
        complaints.category,
        complaints.received_at,
        {{ vc_month('complaints.received_at') }} as complaint_month,
        {{ vc_month_start('complaints.received_at') }} as month_start
    from complaints
    left join calls
        on complaints.call_sid = calls.call_sid

)

select * from final
