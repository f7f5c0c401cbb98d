{#- Reading one key of a JSON column as text (null when the key is absent):
    the typed projections of the clause marts' evidence (metric_clause_facts).
    DuckDB has its own function; the default is SQL:2016 JSON_VALUE. -#}
{% macro vc_json_text(column, key) -%}
    {{ return(adapter.dispatch('vc_json_text', 'voice_compliance')(column, key)) }}
{%- endmacro %}

{% macro default__vc_json_text(column, key) -%}
    json_value({{ column }}, '$.{{ key }}')
{%- endmacro %}

{% macro duckdb__vc_json_text(column, key) -%}
    json_extract_string({{ column }}, '$.{{ key }}')
{%- endmacro %}
