{#- Subjects checked and violations per clause and month, with the settings
    in force. Every clause appears for every month that any clause checked,
    so a clause with nothing to check shows zeros instead of vanishing. -#}
with

clause_outcomes as (
    select * from {{ ref('clause_outcomes') }}
),

clauses as (
    {% for clause_id, clause in var('clauses').items() %}
    select
        '{{ clause_id }}' as clause_id,
        '{{ clause['severity'] }}' as severity,
        '{{ clause['owner'] }}' as owner,
        {{ vc_clause_settings_json(clause_id) }} as thresholds
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

months as (
    select distinct {{ dbt.date_trunc('month', 'period_start') }} as month_start
    from clause_outcomes
),

counts as (
    select
        clause_id,
        {{ dbt.date_trunc('month', 'period_start') }} as month_start,
        count(*) as subjects_checked,
        sum(case when is_violation then 1 else 0 end) as violations
    from clause_outcomes
    group by 1, 2
),

summary as (
    select
        clauses.clause_id,
        cast(months.month_start as date) as month_start,
        {{ vc_month('months.month_start') }} as month,
        coalesce(counts.subjects_checked, 0) as subjects_checked,
        coalesce(counts.violations, 0) as violations,
        clauses.severity,
        clauses.owner,
        clauses.thresholds
    from clauses
    cross join months
    left join counts
        on counts.clause_id = clauses.clause_id
        and counts.month_start = months.month_start
)

select * from summary
