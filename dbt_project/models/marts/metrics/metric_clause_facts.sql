{#-
    The facts of the clauses judged per number, account or registry and
    period, as typed columns: one row per subject of complaints.rate,
    unanswered.volume, duration.average, dnc.registry_freshness and
    cps.multi_region, keyed (clause_id, subject_id) as in their marts. The
    figures are the ones each mart recorded in its evidence when it judged
    the subject, cast once here, so the expectation suites (which re-state
    the policy thresholds on them), reports and alerts read columns instead
    of unpacking JSON. A column that a clause does not record is null.
-#}
{%- set clause_ids = [
    'complaints.rate',
    'unanswered.volume',
    'duration.average',
    'dnc.registry_freshness',
    'cps.multi_region',
] -%}
{#- column, evidence key, SQL type -#}
{%- set facts = [
    ('number_e164', 'number', dbt.type_string()),
    ('metric_month', 'month', dbt.type_string()),
    ('registry', 'registry', dbt.type_string()),
    ('attempts', 'attempts', dbt.type_bigint()),
    ('answered', 'answered', dbt.type_bigint()),
    ('unanswered', 'unanswered', dbt.type_bigint()),
    ('unanswered_ratio', 'unanswered_ratio', 'double'),
    ('complaints', 'complaints', dbt.type_int()),
    ('complaints_per_1000', 'complaints_per_1000', 'double'),
    ('average_duration_s', 'average_duration_s', 'double'),
    ('age_days', 'age_days', dbt.type_int()),
    ('max_age_days', 'max_age_days', dbt.type_int()),
    ('newest_file_date', 'newest_file_date', 'date'),
    ('episodes_started', 'episodes_started', dbt.type_int()),
    ('max_concurrent_hot_in_window', 'max_concurrent_hot_in_window', dbt.type_int()),
] -%}
{%- set typed_facts = [] -%}
{%- for column, key, type in facts -%}
    {%- do typed_facts.append(
        'cast(' ~ vc_json_text('evidence', key) ~ ' as ' ~ type ~ ') as ' ~ column
    ) -%}
{%- endfor %}
with

{% for clause_id in clause_ids %}
{{ vc_clause_model(clause_id) }} as (

    select * from {{ ref(vc_clause_model(clause_id)) }}

),

{% endfor %}
facts as (

    {% for clause_id in clause_ids %}
    select
        clause_id,
        subject_id,
        {{ typed_facts | join(',\n        ') }}
    from {{ vc_clause_model(clause_id) }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select * from facts
