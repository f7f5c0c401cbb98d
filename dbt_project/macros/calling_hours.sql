{#-
    Macros of the clause country.calling_hours (policy-rules.md): the calling
    windows of policy.yml rendered as a relation, and unnesting the callee's
    list of time zones (engine-specific, dispatched with a portable default__
    and a duckdb__ implementation). Local time conversion and JSON evidence
    use the shared vc_local_timestamp (time.sql) and vc_json_object (json.sql).
-#}

{#- The time zone phonenumbers reports when it cannot place a number. -#}
{% macro vc_unknown_time_zone() -%}
    'Etc/Unknown'
{%- endmacro %}

{#- FROM-clause fragment: one row per element of list `list_expr`, as `alias.column`. -#}
{% macro vc_unnest_join(list_expr, alias, column) -%}
    {{ return(adapter.dispatch('vc_unnest_join', 'voice_compliance')(list_expr, alias, column)) }}
{%- endmacro %}

{% macro default__vc_unnest_join(list_expr, alias, column) -%}
    cross join unnest({{ list_expr }}) as {{ alias }} ({{ column }})
{%- endmacro %}

{% macro duckdb__vc_unnest_join(list_expr, alias, column) -%}
    cross join lateral (select unnest({{ list_expr }}) as {{ column }}) as {{ alias }}
{%- endmacro %}

{#- Seconds of a 'HH:MM' or 'HH:MM:SS' policy time (24:00 allowed as an end). -#}
{% macro vc_calling_hours_seconds(text, where) -%}
    {%- set parts = (text | string).split(':') -%}
    {%- if parts | length not in (2, 3) or not (parts | join('')).isdigit() -%}
        {{ exceptions.raise_compiler_error('calling hours: bad time "' ~ text ~ '" in ' ~ where) }}
    {%- endif -%}
    {%- set seconds = parts[0] | int * 3600 + parts[1] | int * 60
        + (parts[2] | int if parts | length == 3 else 0) -%}
    {%- if parts[1] | int > 59 or seconds > 86400 -%}
        {{ exceptions.raise_compiler_error('calling hours: bad time "' ~ text ~ '" in ' ~ where) }}
    {%- endif -%}
    {{ return(seconds) }}
{%- endmacro %}

{#- One SELECT row of the calling-window relation (every column cast, for UNION ALL). -#}
{% macro vc_calling_hours_row(scope_type, scope_code, rule_kind, weekday, weekday_name,
                             window_seq, window_start, window_end, holiday_date) -%}
    {%- set where = scope_type ~ ' ' ~ scope_code ~ ' ' ~ (weekday_name or holiday_date) -%}
    {%- set start_s = vc_calling_hours_seconds(window_start, where) if window_start else none -%}
    {%- set end_s = vc_calling_hours_seconds(window_end, where) if window_end else none -%}
    {%- if start_s is not none and start_s >= end_s -%}
        {{ exceptions.raise_compiler_error('calling hours: empty window in ' ~ where) }}
    {%- endif -%}
    {%- set lit = dbt.string_literal -%}
    select
        cast({{ lit(scope_type) }} as {{ dbt.type_string() }}) as scope_type,
        cast({{ lit(scope_code) }} as {{ dbt.type_string() }}) as scope_code,
        cast({{ lit(rule_kind) }} as {{ dbt.type_string() }}) as rule_kind,
        cast({{ 'null' if weekday is none else weekday }} as {{ dbt.type_int() }}) as weekday,
        cast({{ lit(weekday_name) if weekday_name else 'null' }} as {{ dbt.type_string() }}) as weekday_name,
        cast({{ window_seq }} as {{ dbt.type_int() }}) as window_seq,
        cast({{ lit(window_start) if window_start else 'null' }} as {{ dbt.type_string() }}) as window_start,
        cast({{ lit(window_end) if window_end else 'null' }} as {{ dbt.type_string() }}) as window_end,
        cast({{ 'null' if start_s is none else start_s }} as {{ dbt.type_int() }}) as window_start_s,
        cast({{ 'null' if end_s is none else end_s }} as {{ dbt.type_int() }}) as window_end_s,
        cast({{ lit(holiday_date) if holiday_date else 'null' }} as date) as holiday_date
{%- endmacro %}

{#-
    The calling windows of policy.yml as a relation (a UNION ALL of rows):
    - rule_kind 'window': one row per window [start, end) of a scope and weekday
      (weekday 0 = Monday ... 6 = Sunday, as vc_weekday_index);
    - rule_kind 'closed': one row for a weekday on which a scope has no window
      (an empty list, or a day missing from a configured scope: a scope that is
      configured defines its whole week and never falls back to another);
    - rule_kind 'holiday': one row per configured public holiday of a country.
    Scopes: ('default', 'default') from calling_hours_default,
    ('country', <ISO region>) from calling_hours_by_country,
    ('us_state', <state>) from calling_hours_by_us_state.
-#}
{% macro vc_calling_windows_relation() -%}
    {%- set days = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] -%}
    {%- set scopes = [('default', 'default', var('calling_hours_default'))] -%}
    {%- for code, week in var('calling_hours_by_country', {}).items() -%}
        {%- do scopes.append(('country', code, week)) -%}
    {%- endfor -%}
    {%- for code, week in var('calling_hours_by_us_state', {}).items() -%}
        {%- do scopes.append(('us_state', code, week)) -%}
    {%- endfor -%}
    {%- set rows = [] -%}
    {%- for scope_type, code, week in scopes -%}
        {%- for key in (week or {}).keys() if key not in days -%}
            {{ exceptions.raise_compiler_error(
                'calling hours: unknown day "' ~ key ~ '" for ' ~ code) }}
        {%- endfor -%}
        {%- for day in days -%}
            {%- set windows = (week or {}).get(day) or [] -%}
            {%- for window in windows -%}
                {%- do rows.append(vc_calling_hours_row(scope_type, code, 'window', days.index(day),
                    day, loop.index, window[0], window[1], none)) -%}
            {%- else -%}
                {%- do rows.append(vc_calling_hours_row(scope_type, code, 'closed', days.index(day),
                    day, 0, none, none, none)) -%}
            {%- endfor -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- for code, dates in var('calling_hours_holidays', {}).items() -%}
        {%- for holiday in dates | unique -%}
            {%- do rows.append(vc_calling_hours_row('country', code, 'holiday', none,
                none, 0, none, none, holiday | string)) -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ rows | join('\nunion all\n') }}
{%- endmacro %}
