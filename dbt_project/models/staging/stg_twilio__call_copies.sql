-- Every copy of every call as landed (before deduplication): which file
-- holds which call on which UTC day. What changed-period detection reads.
with

calls as (
    select * from {{ source('raw', 'calls') }}
)

select
    sid as call_sid,
    _file_id as file_id,
    {{ vc_utc_date('start_time') }} as call_date
from calls
