{#-
    Phone-number helpers. Raw phone text is normalized once per distinct value
    by ingestion into ref.phone_numbers (phonenumbers semantics); staging joins
    each phone column to it and exposes <name>_e164 / _is_valid / _region_code.
-#}

{#- The phone dimension restricted to the configured default region: join a
    raw phone column on `raw` only (the region is fixed here). Use as an import
    CTE in staging: `phones as ({{ vc_phone_dimension() }})`. -#}
{% macro vc_phone_dimension() -%}
    select raw, e164, is_valid, region_code, time_zones
    from {{ source('ref', 'phone_numbers') }}
    where region = '{{ var("default_region") }}'
{%- endmacro %}

{#- The normalized columns of one phone column, read from the joined phone
    dimension alias: <name>_e164, <name>_is_valid (false when the text is
    missing or cannot be parsed), <name>_region_code and, when asked,
    <name>_time_zones. -#}
{% macro vc_phone_columns(alias, name, time_zones=false) -%}
    {{ alias }}.e164 as {{ name }}_e164,
    coalesce({{ alias }}.is_valid, false) as {{ name }}_is_valid,
    {{ alias }}.region_code as {{ name }}_region_code
    {%- if time_zones %},
    {{ alias }}.time_zones as {{ name }}_time_zones
    {%- endif %}
{%- endmacro %}

{#- The NANP area code (NPA) of an E.164 number of country code 1, else null. -#}
{% macro vc_nanp_area_code(e164) -%}
    {{ return(adapter.dispatch('vc_nanp_area_code', 'voice_compliance')(e164)) }}
{%- endmacro %}

{% macro default__vc_nanp_area_code(e164) -%}
    case
        when {{ e164 }} like '+1%' and {{ dbt.length(e164) }} = 12
            then substring({{ e164 }}, 3, 3)
    end
{%- endmacro %}

{% macro duckdb__vc_nanp_area_code(e164) -%}
    case
        when starts_with({{ e164 }}, '+1') and length({{ e164 }}) = 12
            then {{ e164 }}[3:5]
    end
{%- endmacro %}

{#- An E.164 number as the registry stores it (raw.registry_lines.e164_number):
    its digits, without the `+`, as an integer (decision 0031). Null when the
    text is not a number. Comparing integers lets the warehouse skip the lines
    of other numbers while it reads the registry. -#}
{% macro vc_e164_number(e164) -%}
    {{ vc_safe_cast(dbt.replace(e164, "'+'", "''"), api.Column.translate_type('bigint')) }}
{%- endmacro %}
