{#- Use the configured schema name as is (staging, intermediate, compliance,
    metrics, ref) instead of dbt's default "<target>_<custom>", so the
    warehouse tables have the names the contract publishes. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
