-- Every loaded registry file (full snapshot or change list): the registry
-- files of the load manifest whose path names a valid effective date.
-- Files that could not be read or were not recognized list nothing.
with

load_manifest as (
    select * from {{ source('compliance', 'load_manifest') }}
),

registry_files as (
    select
        file_id,
        {{ dbt.replace('source', "'registry_'", "''") }} as registry,
        {{ dbt.split_part('landing_key', "'/'", 3) }} as list_kind,
        {{ vc_safe_cast(
            dbt.split_part('landing_key', "'/'", 4), api.Column.translate_type('date')
        ) }} as effective_date,
        landing_key,
        source_uri,
        rows_loaded,
        loaded_at
    from load_manifest
    where
        source like 'registry%'
        and status not in ('unreadable', 'unrecognized')
)

select * from registry_files
where effective_date is not null
