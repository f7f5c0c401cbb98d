{#- Generic test: a clause mart keeps the clause mart contract, declared once
    in models/marts/clauses/_clauses.yml (decision 0018). dbt's enforced model
    contract already holds the columns and their types when the mart is
    built; this checks the values, one row per breach:
    - clause_id is `clause_id` on every row (and the mart is that clause's,
      vc_clause_model);
    - subject_type is `subject_type` on every row;
    - subject_id is not null and unique; a `call` subject is a call of
      int_calls_enriched;
    - account_sid is not null, unless `account_sid_nullable`;
    - period_start and is_violation are not null;
    - severity is the clause's severity in policy.yml;
    - evidence is a JSON object.
    The test carries the clause's tag and meta, as the mart does. -#}
{% test clause_contract(model, clause_id, subject_type, account_sid_nullable=false) %}
{{ vc_clause_config(clause_id) }}
{%- if execute and model.identifier is defined
    and model.identifier != vc_clause_model(clause_id) -%}
    {{ exceptions.raise_compiler_error(
        "clause_contract: " ~ model.identifier ~ " is not the mart of " ~ clause_id
        ~ " (" ~ vc_clause_model(clause_id) ~ ")") }}
{%- endif %}
with

subjects as (
    select * from {{ model }}
),

breaches as (
    select subject_id, 'clause_id is not {{ clause_id }}' as breach
    from subjects
    where clause_id is null or clause_id != '{{ clause_id }}'

    union all
    select subject_id, 'subject_type is not {{ subject_type }}' as breach
    from subjects
    where subject_type is null or subject_type != '{{ subject_type }}'

    union all
    select subject_id, 'subject_id is null' as breach
    from subjects
    where subject_id is null

    union all
    select subject_id, 'subject_id is not unique' as breach
    from subjects
    where subject_id is not null
    group by subject_id
    having count(*) > 1
    {%- if subject_type == 'call' %}

    union all
    select subjects.subject_id, 'subject_id is not a call of int_calls_enriched' as breach
    from subjects
    left join {{ ref('int_calls_enriched') }} as calls
        on subjects.subject_id = calls.call_sid
    where subjects.subject_id is not null and calls.call_sid is null
    {%- endif %}
    {%- if not account_sid_nullable %}

    union all
    select subject_id, 'account_sid is null' as breach
    from subjects
    where account_sid is null
    {%- endif %}

    union all
    select subject_id, 'period_start is null' as breach
    from subjects
    where period_start is null

    union all
    select subject_id, 'is_violation is null' as breach
    from subjects
    where is_violation is null

    union all
    select subject_id, 'severity is not the policy''s' as breach
    from subjects
    where severity is null or severity != {{ vc_clause_severity(clause_id) }}

    union all
    select subject_id, 'evidence is not a JSON object' as breach
    from subjects
    where not coalesce({{ vc_is_json_object('evidence') }}, false)
)

select * from breaches
{% endtest %}
