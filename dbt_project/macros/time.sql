{#-
    Time helpers. Every timestamp of the warehouse is an instant (timestamp
    with time zone); the policy speaks of UTC dates and months and of the
    callee's local time. Conversions are engine-specific, hence dispatched.
-#}

{#- The UTC wall-clock time of an instant (timestamp without time zone). -#}
{% macro vc_utc_timestamp(ts) -%}
    {{ return(adapter.dispatch('vc_utc_timestamp', 'voice_compliance')(ts)) }}
{%- endmacro %}

{% macro default__vc_utc_timestamp(ts) -%}
    ({{ ts }} at time zone 'UTC')
{%- endmacro %}

{% macro duckdb__vc_utc_timestamp(ts) -%}
    timezone('UTC', {{ ts }})
{%- endmacro %}

{#- The UTC calendar date of an instant. -#}
{% macro vc_utc_date(ts) -%}
    cast({{ vc_utc_timestamp(ts) }} as date)
{%- endmacro %}

{#- The first day (date) of the UTC month of an instant. -#}
{% macro vc_month_start(ts) -%}
    cast({{ dbt.date_trunc('month', vc_utc_timestamp(ts)) }} as date)
{%- endmacro %}

{#- The UTC month of an instant as 'YYYY-MM' (the policy's month key). -#}
{% macro vc_month(ts) -%}
    {{ return(adapter.dispatch('vc_month', 'voice_compliance')(ts)) }}
{%- endmacro %}

{% macro default__vc_month(ts) -%}
    to_char({{ vc_utc_timestamp(ts) }}, 'YYYY-MM')
{%- endmacro %}

{% macro duckdb__vc_month(ts) -%}
    strftime({{ vc_utc_timestamp(ts) }}, '%Y-%m')
{%- endmacro %}

{#- A date as 'YYYY-MM-DD' text (subject ids such as <registry>/<YYYY-MM-DD>). -#}
{% macro vc_date_string(d) -%}
    {{ return(adapter.dispatch('vc_date_string', 'voice_compliance')(d)) }}
{%- endmacro %}

{% macro default__vc_date_string(d) -%}
    to_char({{ d }}, 'YYYY-MM-DD')
{%- endmacro %}

{% macro duckdb__vc_date_string(d) -%}
    strftime(cast({{ d }} as date), '%Y-%m-%d')
{%- endmacro %}

{#- The wall-clock time (timestamp without time zone) of an instant in the
    IANA time zone `tz` (a SQL expression, e.g. a column). -#}
{% macro vc_local_timestamp(ts, tz) -%}
    {{ return(adapter.dispatch('vc_local_timestamp', 'voice_compliance')(ts, tz)) }}
{%- endmacro %}

{% macro default__vc_local_timestamp(ts, tz) -%}
    ({{ ts }} at time zone {{ tz }})
{%- endmacro %}

{% macro duckdb__vc_local_timestamp(ts, tz) -%}
    timezone({{ tz }}, {{ ts }})
{%- endmacro %}

{#- ISO day of week of a timestamp or date: 1 = Monday ... 7 = Sunday. -#}
{% macro vc_iso_dow(ts) -%}
    {{ return(adapter.dispatch('vc_iso_dow', 'voice_compliance')(ts)) }}
{%- endmacro %}

{% macro default__vc_iso_dow(ts) -%}
    extract(isodow from {{ ts }})
{%- endmacro %}

{% macro duckdb__vc_iso_dow(ts) -%}
    isodow({{ ts }})
{%- endmacro %}

{#- The clock time of a (local) timestamp as 'HH:MM:SS' text, comparable with
    the policy's 'HH:MM' window bounds as text. -#}
{% macro vc_clock(ts) -%}
    {{ return(adapter.dispatch('vc_clock', 'voice_compliance')(ts)) }}
{%- endmacro %}

{% macro default__vc_clock(ts) -%}
    to_char({{ ts }}, 'HH24:MI:SS')
{%- endmacro %}

{% macro duckdb__vc_clock(ts) -%}
    strftime({{ ts }}, '%H:%M:%S')
{%- endmacro %}

{#- The UTC wall-clock time `seconds` (any bigint SQL) after 1970-01-01.
    Whole days and the remaining seconds are added apart: dbt.dateadd's
    interval is a 32-bit integer on DuckDB, and seconds since 1970 leave that
    range after 2038-01-19 (a call dated 2099 once failed the CPS models). -#}
{% macro vc_epoch_plus_seconds(seconds) -%}
    {%- set epoch = "cast('1970-01-01 00:00:00' as " ~ dbt.type_timestamp() ~ ")" -%}
    {%- set days = "floor((" ~ seconds ~ ") / 86400.0)" -%}
    {%- set whole_days = "cast(" ~ days ~ " as " ~ dbt.type_int() ~ ")" -%}
    {%- set rest = "(" ~ seconds ~ ") - 86400 * cast(" ~ days ~ " as " ~ dbt.type_bigint() ~ ")" -%}
    {{ dbt.dateadd('second', rest, dbt.dateadd('day', whole_days, epoch)) }}
{%- endmacro %}
