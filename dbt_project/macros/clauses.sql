{#- Helpers that read the clause registry of policy.yml (var('clauses')). -#}

{% macro vc_clause_model(clause_id) -%}
    {#- The mart that checks a clause: consent.prior_consent -> clause_consent__prior_consent -#}
    {{ return('clause_' ~ clause_id | replace('.', '__')) }}
{%- endmacro %}

{% macro vc_clause_severity(clause_id) -%}
    '{{ var('clauses')[clause_id]['severity'] }}'
{%- endmacro %}

{% macro vc_clause_settings_json(clause_id) -%}
    {#- The clause's settings from policy.yml as a JSON literal. -#}
    {%- set settings = {} -%}
    {%- for name in var('clauses')[clause_id]['settings'] -%}
        {%- do settings.update({name: var(name)}) -%}
    {%- endfor -%}
    {{ vc_json_literal(settings) }}
{%- endmacro %}

{% macro vc_json_literal(value) -%}
    {{ return(adapter.dispatch('vc_json_literal', 'voice_compliance')(value)) }}
{%- endmacro %}

{% macro default__vc_json_literal(value) -%}
    '{{ tojson(value) | replace("'", "''") }}'
{%- endmacro %}

{% macro duckdb__vc_json_literal(value) -%}
    cast('{{ tojson(value) | replace("'", "''") }}' as json)
{%- endmacro %}
