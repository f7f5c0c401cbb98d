-- Per registry and UTC day: the newest registry file effective on or before
-- that day and its age in days.
with

load_history as (
    select * from {{ source('registry', 'load_history') }}
)

select
    registry,
    day,
    newest_file_date,
    newest_file_kinds,
    newest_files,
    latest_full_date,
    age_days
from load_history
