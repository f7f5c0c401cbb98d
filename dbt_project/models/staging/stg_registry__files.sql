-- Every loaded registry file (full snapshot or change list): the registry
-- files of the load manifest whose path names a valid effective date.
-- Files that could not be read or were not recognized list nothing. The
-- list kind and date are what the loader read from the landing path
-- (partition_info), as raw.registry_entries has them, not parsed again.
-- counts_as_list is false for a full snapshot that loaded no number (a
-- zero-byte export, or every line blank or quarantined): far more likely a
-- broken download than an empty registry, so membership, freshness and
-- coverage all read it as if it had not arrived (decision 0003).
with

load_manifest as (
    select * from {{ source('compliance', 'load_manifest') }}
),

registry_files as (
    select
        file_id,
        {{ dbt.replace('source', "'registry_'", "''") }} as registry,
        {{ vc_json_text('partition_info', 'list_kind') }} as list_kind,
        {{ vc_safe_cast(
            vc_json_text('partition_info', 'effective_date'), api.Column.translate_type('date')
        ) }} as effective_date,
        landing_key,
        source_uri,
        rows_loaded,
        loaded_at
    from load_manifest
    where
        source like 'registry%'
        and status not in ('unreadable', 'unrecognized')
),

final as (
    select
        file_id,
        registry,
        list_kind,
        effective_date,
        landing_key,
        source_uri,
        rows_loaded,
        coalesce(list_kind != 'full' or rows_loaded > 0, true) as counts_as_list,
        loaded_at
    from registry_files
    where effective_date is not null
)

select * from final
