-- Point-in-time registry membership: e164 listed on registry during
-- [listed_from, listed_to) (listed_to null = still listed).
with

membership as (
    select * from {{ source('registry', 'membership') }}
)

select
    registry,
    e164,
    listed_from,
    listed_to
from membership
