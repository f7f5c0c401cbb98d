{#- Helpers that read the clause registry of policy.yml (var('clauses')). -#}

{% macro vc_clause_model(clause_id) -%}
    {#- The mart that checks a clause: consent.prior_consent -> clause_consent__prior_consent -#}
    {{ return('clause_' ~ clause_id | replace('.', '__')) }}
{%- endmacro %}

{% macro vc_clause_severity(clause_id) -%}
    '{{ var('clauses')[clause_id]['severity'] }}'
{%- endmacro %}

{#- The config of a clause's models, called once at the top of each: tagged
    with the clause_id (vc_transform reports each clause's nodes by this tag;
    their tests and unit tests follow their model) and the clause's meta from
    policy.yml. -#}
{% macro vc_clause_config(clause_id) -%}
    {{ config(tags=[clause_id], meta=vc_clause_meta(clause_id)) }}
{%- endmacro %}

{#- {clause_id, severity, owner} of a clause of policy.yml; an unknown id
    fails the parse. -#}
{% macro vc_clause_meta(clause_id) -%}
    {%- set clause = var('clauses').get(clause_id) -%}
    {%- if clause is none -%}
        {{ exceptions.raise_compiler_error(
            "clause '" ~ clause_id ~ "' is not in policy.yml's clauses") }}
    {%- endif -%}
    {{ return({'clause_id': clause_id, 'severity': clause['severity'], 'owner': clause['owner']}) }}
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
