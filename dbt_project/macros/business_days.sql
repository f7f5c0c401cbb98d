{#-
    Deadline arithmetic for honour windows (policy-rules.md, "Precise edges"):
    a window counts from the UTC date d0 of the request;
    - business days: the deadline D is the N-th Monday-Friday date strictly
      after d0 (a request on Friday 2026-09-04 with N = 10 gives Friday
      2026-09-18; a request on Saturday or Sunday counts like one on the
      Friday before, since no business day lies between them);
    - calendar days: D = d0 + N.
    No calendar table is needed: the weekday comes from the number of days
    since a known Monday (1900-01-01), so the SQL is plain date arithmetic
    through dbt's cross-database macros (dbt.datediff, dbt.dateadd) plus
    mod() and floor(). Public holidays are not business-day exceptions here
    (the policy defines business days as Monday-Friday).

    All macros return SQL expressions; d0 is a date expression, n an integer
    expression (a literal or a column) and must be >= 1 for business days.
    Each is dispatched (adapter.dispatch) so an adapter can override it; the
    default__ implementations are portable.
-#}

{#- Day of the week of date `d` as 0 = Monday ... 6 = Sunday. -#}
{% macro vc_weekday_index(d) -%}
    {{ return(adapter.dispatch('vc_weekday_index', 'voice_compliance')(d)) }}
{%- endmacro %}

{% macro default__vc_weekday_index(d) -%}
    {#- 1900-01-01 was a Monday; dates before it are out of scope. -#}
    mod({{ dbt.datediff("cast('1900-01-01' as date)", d, 'day') }}, 7)
{%- endmacro %}

{#- The date `n` calendar days after date `d0`. -#}
{% macro vc_add_calendar_days(d0, n) -%}
    {{ return(adapter.dispatch('vc_add_calendar_days', 'voice_compliance')(d0, n)) }}
{%- endmacro %}

{% macro default__vc_add_calendar_days(d0, n) -%}
    cast({{ dbt.dateadd('day', n, d0) }} as date)
{%- endmacro %}

{#- The n-th Monday-Friday date strictly after date `d0` (n >= 1). -#}
{% macro vc_add_business_days(d0, n) -%}
    {{ return(adapter.dispatch('vc_add_business_days', 'voice_compliance')(d0, n)) }}
{%- endmacro %}

{% macro default__vc_add_business_days(d0, n) -%}
    {#-
        1. Move a Saturday/Sunday d0 back to its Friday (base, weekday wb <= 4):
           the business days strictly after both are the same.
        2. From a weekday wb, n business days later is n + 2 * q calendar days,
           q = floor((wb + n) / 5) being the weekends crossed: with
           wb + n = 5q + r (0 <= r <= 4) the result's weekday is r, never a
           weekend.
    -#}
    {%- set w = vc_weekday_index(d0) -%}
    {%- set back = 'case when ' ~ w ~ ' > 4 then ' ~ w ~ ' - 4 else 0 end' -%}
    {%- set wb = 'case when ' ~ w ~ ' > 4 then 4 else ' ~ w ~ ' end' -%}
    {%- set weekends =
        'cast(floor(((' ~ wb ~ ') + (' ~ n ~ ')) / 5.0) as ' ~ dbt.type_int() ~ ')' -%}
    {{ vc_add_calendar_days(d0, '(' ~ n ~ ') + 2 * ' ~ weekends ~ ' - (' ~ back ~ ')') }}
{%- endmacro %}

{#-
    The honour deadline D for a window of `n` days of kind `kind`
    ('business' or 'calendar'), both SQL expressions. A window of 0 days has
    no deadline date (NULL): the caller compares timestamps instead
    ("a window of 0 means any call starting after requested_at violates").
-#}
{% macro vc_honor_deadline(d0, n, kind) -%}
    {{ return(adapter.dispatch('vc_honor_deadline', 'voice_compliance')(d0, n, kind)) }}
{%- endmacro %}

{% macro default__vc_honor_deadline(d0, n, kind) -%}
    case
        when ({{ n }}) = 0 then null
        when ({{ kind }}) = 'business' then {{ vc_add_business_days(d0, n) }}
        else {{ vc_add_calendar_days(d0, n) }}
    end
{%- endmacro %}
