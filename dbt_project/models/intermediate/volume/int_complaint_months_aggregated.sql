{#-
    Complaints per attributed number and UTC month of receipt, with the account
    the number belonged to, for months in which the number placed no call:
    the account of the calls named by the complaints' call_sid, else the
    account of the number's inventory row active during the month (latest
    active_from wins), else null.
-#}
with

complaints as (

    select * from {{ ref('int_complaints_attributed') }}
    where number_e164 is not null

),

inventory as (

    select account_sid, phone_number_e164, active_from, active_to
    from {{ ref('stg_exports__numbers') }}

),

counted as (

    select
        number_e164,
        complaint_month,
        month_start,
        count(*) as complaints,
        sum(case when attributed_via = 'call_sid' then 1 else 0 end) as complaints_via_call_sid,
        sum(case when attributed_via = 'caller_id' then 1 else 0 end) as complaints_via_caller_id,
        min(call_account_sid) as call_account_sid
    from complaints
    group by number_e164, complaint_month, month_start

),

inventory_accounts as (

    select
        counted.number_e164,
        counted.complaint_month,
        inventory.account_sid,
        row_number() over (
            partition by counted.number_e164, counted.complaint_month
            order by inventory.active_from desc, inventory.account_sid asc
        ) as account_rank
    from counted
    inner join inventory
        on counted.number_e164 = inventory.phone_number_e164
        and inventory.active_from < {{ dbt.dateadd('month', 1, 'counted.month_start') }}
        and (inventory.active_to is null or inventory.active_to > counted.month_start)

),

final as (

    select
        counted.*,
        inventory_accounts.account_sid as inventory_account_sid
    from counted
    left join inventory_accounts
        on counted.number_e164 = inventory_accounts.number_e164
        and counted.complaint_month = inventory_accounts.complaint_month
        and inventory_accounts.account_rank = 1

)

select * from final
