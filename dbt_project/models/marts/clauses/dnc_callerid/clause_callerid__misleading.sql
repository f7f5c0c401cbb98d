{{ vc_incremental_by_period('period_start') }}
{#-
    callerid.misleading: one row per outbound attempt; a violation when its
    `from` number is not a valid number (phonenumbers' is_valid_number false,
    or unparseable), or is not in the call's account's inventory (kind in
    callerid_inventory_kinds, active_from <= call start < active_to, null
    active_to = still active). Every inventory row of the number (any
    account; identical rows once) is examined and listed as evidence.
-#}
{%- set clause_id = 'callerid.misleading' -%}
{{ vc_clause_config(clause_id) }}

with

calls as (

    select call_sid, account_sid, from_raw, from_e164, from_is_valid, started_at, call_date
    from {{ ref('int_calls_enriched') }}
    where {{ vc_in_changed_days('call_date') }}

),

inventory as (

    -- identical rows (the same inventory landed again, e.g. a daily full
    -- export) are one row: otherwise each copy multiplies every call's evidence
    select distinct account_sid, phone_number_e164, kind, active_from, active_to
    from {{ ref('stg_exports__numbers') }}
    where phone_number_e164 is not null
        and kind in ('{{ var("callerid_inventory_kinds") | join("', '") }}')  -- noqa: LT05

),

examined as (

    select
        calls.call_sid,
        inventory.account_sid,
        inventory.kind,
        inventory.active_from,
        inventory.active_to,
        inventory.account_sid = calls.account_sid as is_same_account,
        inventory.active_from <= calls.started_at
        and (inventory.active_to is null or calls.started_at < inventory.active_to)
            as is_active_at_call
    from calls
    inner join inventory on calls.from_e164 = inventory.phone_number_e164

),

examined_per_call as (

    select
        call_sid,
        count(*) as inventory_rows_examined,
        sum(case when is_same_account then 1 else 0 end) as same_account_rows,
        sum(case when is_same_account and is_active_at_call then 1 else 0 end) as valid_rows,
        {{ vc_json_agg(vc_json_object([
            ('account_sid', 'account_sid'),
            ('kind', 'kind'),
            ('active_from', dbt.cast('active_from', dbt.type_string())),
            ('active_to', dbt.cast('active_to', dbt.type_string())),
            ('is_same_account', 'is_same_account'),
            ('is_active_at_call', 'is_active_at_call'),
        ]), 'active_from, account_sid, kind, active_to') }} as inventory_rows
    from examined
    group by call_sid

),

judged as (

    select
        calls.*,
        examined_per_call.inventory_rows,
        coalesce(examined_per_call.inventory_rows_examined, 0) as inventory_rows_examined,
        case
            when not coalesce(calls.from_is_valid, false) then 'invalid_number'
            when examined_per_call.valid_rows > 0 then 'in_inventory'
            when examined_per_call.same_account_rows > 0 then 'inactive'
            when examined_per_call.inventory_rows_examined > 0 then 'other_account'
            else 'not_in_inventory'
        end as reason
    from calls
    left join examined_per_call on calls.call_sid = examined_per_call.call_sid

),

final as (

    select
        '{{ clause_id }}' as clause_id,
        'call' as subject_type,
        call_sid as subject_id,
        account_sid,
        call_date as period_start,
        reason <> 'in_inventory' as is_violation,
        {{ vc_clause_severity(clause_id) }} as severity,
        {{ vc_json_object([
            ('reason', 'reason'),
            ('from_raw', 'from_raw'),
            ('from_e164', 'from_e164'),
            ('from_is_valid', 'coalesce(from_is_valid, false)'),
            ('started_at_utc', dbt.cast('started_at', dbt.type_string())),
            ('inventory_kinds', vc_json_literal(var('callerid_inventory_kinds'))),
            ('inventory_rows_examined', 'inventory_rows_examined'),
            ('inventory_rows', 'inventory_rows'),
        ]) }} as evidence
    from judged

)

select * from final
