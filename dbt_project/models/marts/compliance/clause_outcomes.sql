{{ config(materialized="view") }}
{#- Every subject each clause checked, with its outcome: the union of the
    twelve clause marts listed in policy.yml (var('clauses')). -#}
with

{% for clause_id in var('clauses') %}
{{ vc_clause_model(clause_id) }} as (
    select * from {{ ref(vc_clause_model(clause_id)) }}
),
{% endfor %}

outcomes as (
    {% for clause_id in var('clauses') %}
    select
        clause_id,
        subject_type,
        subject_id,
        account_sid,
        period_start,
        is_violation,
        severity,
        evidence
    from {{ vc_clause_model(clause_id) }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
)

select * from outcomes
