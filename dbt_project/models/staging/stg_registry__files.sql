-- Every loaded registry file (full snapshot or change list).
with

files as (
    select * from {{ source('registry', 'files') }}
)

select
    file_id,
    registry,
    list_kind,
    effective_date,
    landing_key,
    source_uri,
    rows_loaded,
    loaded_at
from files
