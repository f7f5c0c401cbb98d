{#-
    Per clause, over every month the warehouse holds: subjects checked and
    violations (the sums of clause_summary's months), with the clause's
    severity and owner. What the command line's per-clause report prints
    (voice_compliance.reporting.clause_report) with a plain select.
-#}
with

clause_summary as (

    select * from {{ ref('clause_summary') }}

),

totals as (

    select
        clause_id,
        min(severity) as severity,
        min(owner) as owner,
        cast(sum(subjects_checked) as {{ dbt.type_bigint() }}) as subjects_checked,
        cast(sum(violations) as {{ dbt.type_bigint() }}) as violations
    from clause_summary
    group by clause_id

)

select * from totals
