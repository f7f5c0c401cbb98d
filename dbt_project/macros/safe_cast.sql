{#
    dbt's cross-database `safe_cast` falls back to a plain `cast` on adapters
    that do not override it, and dbt-duckdb does not: a value that does not
    convert (a registry folder named `2026-13-45`) then fails the whole query
    instead of giving NULL. DuckDB, Spark (3.2+) and Snowflake all have
    `try_cast`, so this project's safe cast uses it; adapters without it can
    override `vc_safe_cast` through dispatch.
#}
{% macro vc_safe_cast(field, type) %}
    {{ return(adapter.dispatch('vc_safe_cast', 'voice_compliance')(field, type)) }}
{% endmacro %}

{% macro default__vc_safe_cast(field, type) %}
    try_cast({{ field }} as {{ type }})
{% endmacro %}
