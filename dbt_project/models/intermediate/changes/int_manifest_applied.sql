{#-
    The landed files (and their call days) that this transform run derived:
    int_manifest_snapshot, copied once every incremental model is built, so
    the next run re-derives only what changed after it. A run that fails
    before this model leaves the previous state, and the next run derives
    the same days again (and the days that run listed in int_days_changed).
    applied_in names this dbt invocation, policy_fingerprint the policy
    settings it derived with (vc_policy_fingerprint).
-#}
-- depends_on: {{ ref('policy_violations') }}
-- depends_on: {{ ref('clause_summary') }}

with

snapshot as (

    select
        file_id,
        source,
        load_count,
        checksum,
        call_date,
        cast('{{ invocation_id }}' as {{ dbt.type_string() }}) as applied_in,
        cast('{{ vc_policy_fingerprint() }}' as {{ dbt.type_string() }}) as policy_fingerprint
    from {{ ref('int_manifest_snapshot') }}

)

select * from snapshot
