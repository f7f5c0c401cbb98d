{#-
    Incremental derivation by call day (see models/intermediate/changes).

    A call-level model is materialized `incremental`; on an incremental run
    it re-derives only the UTC call days listed in `int_days_changed` (the
    days that new or changed landing files touched): a pre-hook deletes those
    days from the model, then the model inserts them again. A full refresh
    (`dbt build --full-refresh`, or the first run) derives everything, with
    the same SQL and the same result.
-#}

{#- The model config of a call-day incremental model; `column` is its UTC
    call date column. With grain='month', `column` is a month-start date and
    the model re-derives the whole months that hold a changed day (for
    aggregates per month). -#}
{% macro vc_incremental_by_period(column, grain='day') -%}
    {#- Declares the dependency on the changed days (a ref() inside
        is_incremental() alone is invisible when dbt parses the project). -#}
    {%- set changed_days = ref('int_days_changed') -%}
    {{ config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook=vc_delete_changed_days_sql(column, grain),
    ) }}
{%- endmacro %}

{#- The pre-hook text (rendered when the hook runs, where is_incremental()
    is known). -#}
{% macro vc_delete_changed_days_sql(column, grain) -%}
    {{ return("{{ vc_delete_changed_days('" ~ column ~ "', '" ~ grain ~ "') }}") }}
{%- endmacro %}

{% macro vc_delete_changed_days(column, grain='day') -%}
    {%- if vc_is_incremental() -%}
        delete from {{ this }}
        where {{ column }} in ({{ vc_changed_periods(grain) }})
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- A predicate: true on a full build; on an incremental run, true for the
    rows of the days to re-derive. -#}
{% macro vc_in_changed_days(column) -%}
    {%- if vc_is_incremental() -%}
        {{ column }} in ({{ vc_changed_periods('day') }})
    {%- else -%}
        1 = 1
    {%- endif -%}
{%- endmacro %}

{#- The same for the months that hold a changed day; `column` is a date (or
    timestamp) whose month is compared. -#}
{% macro vc_in_changed_months(column) -%}
    {%- if vc_is_incremental() -%}
        {{ vc_month_start_of(column) }} in ({{ vc_changed_periods('month') }})
    {%- else -%}
        1 = 1
    {%- endif -%}
{%- endmacro %}

{#- The changed periods as a one-column subquery: call days, or the first
    day of the months holding them. -#}
{% macro vc_changed_periods(grain) -%}
    {%- if grain == 'month' -%}
        select distinct {{ vc_month_start_of('call_date') }} from {{ ref('int_days_changed') }}
    {%- else -%}
        select call_date from {{ ref('int_days_changed') }}
    {%- endif -%}
{%- endmacro %}

{% macro vc_month_start_of(date_column) -%}
    cast({{ dbt.date_trunc('month', date_column) }} as date)
{%- endmacro %}

{#- The rows of model `model_name` as an earlier run left them, read by
    name, not ref() (a model that reads its own or a later model's previous
    state cannot depend on it): `columns` ((name, type) pairs) from its
    relation, or an empty relation of the same shape before its first build.
    A column the relation does not have yet (it was built by an earlier
    version of the project) reads as null. -#}
{% macro vc_previous_state(model_name, columns) -%}
    {%- set previous = none -%}
    {%- if execute -%}
        {%- set node = graph.nodes.values()
            | selectattr('resource_type', 'equalto', 'model')
            | selectattr('name', 'equalto', model_name) | first -%}
        {%- set previous = adapter.get_relation(
            database=node.database, schema=node.schema, identifier=node.alias) -%}
    {%- endif -%}
    {%- if previous is not none -%}
        {%- set present = adapter.get_columns_in_relation(previous)
            | map(attribute='name') | map('lower') | list -%}
        select
        {%- for name, type in columns %}
            {% if name | lower in present -%}
                {{ name }}
            {%- else -%}
                cast(null as {{ type }}) as {{ name }}
            {%- endif %}{{ "," if not loop.last }}
        {%- endfor %}
        from {{ previous }}
    {%- else -%}
        select
        {%- for name, type in columns %}
            cast(null as {{ type }}) as {{ name }}{{ "," if not loop.last }}
        {%- endfor %}
        where 1 = 0
    {%- endif -%}
{%- endmacro %}

{#- The applied manifest of the previous successful transform (the relation
    int_manifest_applied): it is written at the end of the run that reads it
    at the start. `applied_in` is the dbt invocation that wrote it,
    `policy_fingerprint` the policy settings it derived with. -#}
{% macro vc_previous_applied_manifest() -%}
    {{ vc_previous_state('int_manifest_applied', [
        ('file_id', dbt.type_string()),
        ('source', dbt.type_string()),
        ('load_count', dbt.type_int()),
        ('checksum', dbt.type_string()),
        ('call_date', 'date'),
        ('applied_in', dbt.type_string()),
        ('policy_fingerprint', dbt.type_string()),
    ]) }}
{%- endmacro %}

{#- The policy settings (vars from policy.yml) the project reads: the clause
    map (severity, owner, settings), every clause's settings, and the
    settings all clauses share. tests/dbt/test_incremental.py checks that
    every var() of the project is among them. -#}
{% macro vc_policy_settings() -%}
    {%- set names = [
        'clauses', 'default_region', 'outbound_directions', 'answered_status',
        'treat_unclassified_as_telemarketing', 'short_call_max_seconds',
    ] -%}
    {%- for clause in var('clauses', {}).values() -%}
        {%- for name in clause.get('settings', []) if name not in names -%}
            {%- do names.append(name) -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(names | sort) }}
{%- endmacro %}

{#- A digest of the values of vc_policy_settings(): an incremental model
    derived with other values re-derives everything (int_days_changed, the
    pre-hook of stg_twilio__calls). The values' text, not tojson(): a policy
    file passed by hand (`--vars "$(cat policy.yml)"`) may hold YAML dates,
    which JSON cannot write. -#}
{% macro vc_policy_fingerprint() -%}
    {%- set values = {} -%}
    {%- for name in vc_policy_settings() -%}
        {%- do values.update({name: var(name, none)}) -%}
    {%- endfor -%}
    {{ return(local_md5(values | string)) }}
{%- endmacro %}

{#- A predicate on a recorded fingerprint column: it is not this run's (a
    row recorded before the fingerprint existed has none, and differs). -#}
{% macro vc_policy_differs(column) -%}
    coalesce({{ column }}, '') <> '{{ vc_policy_fingerprint() }}'
{%- endmacro %}

{#- A predicate: the previous successful transform derived with other policy
    settings than this run's, or recorded none (it predates the fingerprint). -#}
{% macro vc_policy_changed() -%}
    exists (
        select 1 from ({{ vc_previous_applied_manifest() }}) as applied
        where {{ vc_policy_differs('applied.policy_fingerprint') }}
    )
{%- endmacro %}

{#- The call days the previous run of int_days_changed listed, with the dbt
    invocation that listed them (`derived_in`). -#}
{% macro vc_previously_changed_days() -%}
    {{ vc_previous_state('int_days_changed', [
        ('call_date', 'date'),
        ('derived_in', dbt.type_string()),
    ]) }}
{%- endmacro %}

{#- The calls as stg_twilio__calls ranked them in the previous run (call_sid,
    copies_loaded): int_days_changed reads them before that model ranks the
    changed calls again in the same run. -#}
{% macro vc_previously_ranked_calls() -%}
    {{ vc_previous_state('stg_twilio__calls', [
        ('call_sid', dbt.type_string()),
        ('copies_loaded', dbt.type_int()),
    ]) }}
{%- endmacro %}

{#- is_incremental(), also where a model is rendered without a relation of
    its own (dbt unit tests: those test the full derivation). -#}
{% macro vc_is_incremental() -%}
    {{ return(this is not none and is_incremental()) }}
{%- endmacro %}

{#- The pre-hook of stg_twilio__calls on an incremental run: deletes the calls
    whose set of landed copies may have changed since they were ranked, so
    that the model ranks them again from every copy. A copy was added or
    rewritten only in a new or reloaded call file (is_changed in
    int_manifest_snapshot); a copy dropped by a reloaded file changes the
    call's number of copies (copies_loaded), or leaves it none. Every call
    when the policy settings changed (the phone columns read default_region). -#}
{% macro vc_delete_recopied_calls() -%}
    {%- if vc_is_incremental() -%}
        delete from {{ this }}
        where call_sid in (
            select calls.sid
            from {{ source('raw', 'calls') }} as calls
            inner join {{ ref('int_manifest_snapshot') }} as snapshot
                on calls._file_id = snapshot.file_id
            where snapshot.is_changed
        )
        or copies_loaded <> (
            select count(*) from {{ source('raw', 'calls') }} as calls
            where calls.sid = {{ this }}.call_sid
        )
        or {{ vc_policy_changed() }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
