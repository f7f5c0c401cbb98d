{#-
    The load manifest as this transform run sees it, one row per landed file
    and, for call files, per UTC call day the file holds. is_changed marks
    the files that are new or were reloaded since the last successful run
    (int_manifest_applied); was_applied those among them that an earlier run
    had already derived (a replaced file: its old rows are gone).
-#}

with

load_manifest as (

    select file_id, source, source_uri, load_count, checksum
    from {{ source('compliance', 'load_manifest') }}

),

call_copies as (

    select distinct file_id, call_date from {{ ref('stg_twilio__call_copies') }}

),

previous as (

    {{ vc_previous_applied_manifest() }}

),

previous_files as (

    select distinct file_id, load_count, checksum from previous

),

final as (

    select
        load_manifest.file_id,
        load_manifest.source,
        load_manifest.source_uri,
        load_manifest.load_count,
        load_manifest.checksum,
        call_copies.call_date,
        previous_files.file_id is null as is_changed,
        load_manifest.file_id in (select applied.file_id from previous_files as applied)
            as was_applied
    from load_manifest
    left join call_copies on load_manifest.file_id = call_copies.file_id
    left join previous_files
        on load_manifest.file_id = previous_files.file_id
        and load_manifest.load_count = previous_files.load_count
        and coalesce(load_manifest.checksum, '') = coalesce(previous_files.checksum, '')

)

select * from final
