-- Raw rows of the national do-not-call registry files.
with

registry_entries as (
    select * from {{ source('raw', 'registry_entries') }}
)

select
    registry,
    list_kind,
    effective_date,
    e164,
    e164_number,
    action,
    extra,
    _file_id as file_id,
    _source_file,
    _source_line,
    _loaded_at
from registry_entries
