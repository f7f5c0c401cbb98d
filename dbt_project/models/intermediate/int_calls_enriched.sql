{{ vc_incremental_by_period('call_date') }}
-- One row per outbound attempt, with the answered flag, the callee's country,
-- time zones and US state, and the resolved campaign (policy "Campaign
-- resolution": call_metadata first, else the caller number's inventory row of
-- the call's account active at the call start; an unknown campaign_id makes
-- the call unclassified).
with

calls as (
    -- A call with no start time cannot be judged by any rule (every rule reads
    -- the call start): it is left out here and reported by the staging data
    -- test on started_at (a data-quality finding), never a halted build.
    select * from {{ ref('stg_twilio__calls') }}
    where direction in ('{{ var("outbound_directions") | join("', '") }}')  -- noqa: LT05
        and started_at is not null
        and {{ vc_in_changed_days(vc_utc_date('started_at')) }}
),

call_metadata as (select * from {{ ref('stg_exports__call_metadata') }}),

inventory as (select * from {{ ref('stg_exports__numbers') }}),

campaigns as (select * from {{ ref('stg_exports__campaigns') }}),

area_codes as (select * from {{ ref('nanp_area_codes') }}),

inventory_campaigns as (
    -- Overlapping active rows (data error) resolve to the latest active_from.
    select
        calls.call_sid,
        inventory.default_campaign_id,
        row_number() over (
            partition by calls.call_sid
            order by inventory.active_from desc, inventory.default_campaign_id asc
        ) as row_rank
    from calls
    inner join inventory
        on calls.from_e164 = inventory.phone_number_e164
        and calls.account_sid = inventory.account_sid
        and inventory.active_from <= calls.started_at
        and (inventory.active_to is null or calls.started_at < inventory.active_to)
),

resolved as (
    select
        calls.*,
        coalesce(call_metadata.campaign_id, inventory_campaigns.default_campaign_id) as campaign_id,
        case
            when call_metadata.campaign_id is not null then 'call_metadata'
            when inventory_campaigns.default_campaign_id is not null then 'inventory'
        end as campaign_source,
        -- A missing status is not 'completed': unanswered (never null).
        coalesce(calls.status = '{{ var("answered_status") }}', false) and calls.duration_s > 0
            as is_answered
    from calls
    left join call_metadata on calls.call_sid = call_metadata.call_sid
    left join inventory_campaigns
        on calls.call_sid = inventory_campaigns.call_sid
        and inventory_campaigns.row_rank = 1
)

select
    resolved.call_sid,
    resolved.account_sid,
    resolved.home_region,
    resolved.from_raw,
    resolved.from_e164,
    resolved.from_is_valid,
    resolved.from_region_code,
    resolved.to_raw,
    resolved.to_e164,
    resolved.to_is_valid,
    resolved.to_region_code as callee_country,
    resolved.to_time_zones as callee_time_zones,
    area_codes.state as callee_subdivision,
    case when area_codes.country = 'US' then area_codes.state end as callee_us_state,
    resolved.status,
    resolved.direction,
    resolved.duration_s,
    resolved.is_answered,
    not resolved.is_answered as is_unanswered,
    resolved.campaign_id,
    resolved.campaign_source,
    campaigns.brand,
    campaigns.purpose,
    campaigns.campaign_id is null as is_unclassified,
    coalesce(campaigns.purpose = 'telemarketing', false)
    or (campaigns.campaign_id is null and {{ var('treat_unclassified_as_telemarketing') }})
        as is_telemarketing,
    resolved.started_at,
    resolved.ended_at,
    {{ vc_utc_date('resolved.started_at') }} as call_date,
    {{ vc_month('resolved.started_at') }} as call_month
from resolved
left join campaigns on resolved.campaign_id = campaigns.campaign_id
left join area_codes
    on {{ vc_nanp_area_code('resolved.to_e164') }} = area_codes.area_code
    and resolved.to_region_code = area_codes.country
