{#- on-run-end: keep the outcome of every data test of the invocation in
    `compliance.data_test_results`, one row per test (the latest outcome
    wins; a test of the project that this invocation did not run keeps its
    previous outcome; a test no longer in the project is dropped).

    Why: data tests on landed data run at severity `warn` (decision 0013), so
    a bad row never halts the build; the data-quality suite `dq.data_tests`
    (expectations/data_quality_suites.py) reads this table and turns every
    test that did not pass into a data-quality finding (validation results,
    Data Docs, Slack). Unit tests are not data tests and are not kept. -#}
{% macro vc_store_test_results(results) -%}
    {%- if execute -%}
        {%- set table = 'compliance.data_test_results' -%}
        {%- do run_query('create schema if not exists compliance') -%}
        {%- do run_query(
            'create table if not exists ' ~ table ~ ' ('
            ~ 'unique_id varchar primary key, data_test varchar not null, test_type varchar,'
            ~ ' model varchar, column_name varchar, severity varchar, status varchar not null,'
            ~ ' failures bigint, message varchar, invocation_id varchar, tested_at timestamptz)'
        ) -%}
        {%- set rows = [] -%}
        {%- for result in results
            if result.node.resource_type == 'test'
            and result.status in ('pass', 'warn', 'fail', 'error') -%}
            {%- do rows.append('(' ~ [
                vc_sql_text(result.node.unique_id),
                vc_sql_text(vc_data_test_label(result.node)),
                vc_sql_text(result.node.test_metadata.name if result.node.test_metadata else 'singular'),
                vc_sql_text((result.node.attached_node or '').split('.')[-1] or none),
                vc_sql_text(result.node.column_name),
                vc_sql_text(result.node.config.severity | lower),
                vc_sql_text(result.status | string),
                (result.failures if result.failures is number else 'null'),
                vc_sql_text(result.message),
                vc_sql_text(invocation_id),
                'now()',
            ] | join(', ') ~ ')') -%}
        {%- endfor -%}
        {%- if rows -%}
            {%- do run_query('insert or replace into ' ~ table ~ ' values ' ~ rows | join(', ')) -%}
        {%- endif -%}
        {%- set known = graph.nodes.values() | selectattr('resource_type', 'equalto', 'test')
            | map(attribute='unique_id') | list -%}
        {%- if known -%}
            {%- set quoted = [] -%}
            {%- for unique_id in known -%}
                {%- do quoted.append(vc_sql_text(unique_id)) -%}
            {%- endfor -%}
            {%- do run_query(
                'delete from ' ~ table ~ ' where unique_id not in (' ~ quoted | join(', ') ~ ')'
            ) -%}
        {%- endif -%}
    {%- endif -%}
    select 1
{%- endmacro %}


{#- A test as a reader should see it: `<model>.<column> <test>` and, for a
    relationship, what it must match (`-> stg_exports__accounts.account_sid`). -#}
{% macro vc_data_test_label(node) -%}
    {#- test_metadata is an object here (a dict in `graph`); none for a singular test -#}
    {%- set metadata = node.test_metadata -%}
    {%- set kwargs = (metadata.kwargs if metadata else none) or {} -%}
    {%- set model = (node.attached_node or '').split('.')[-1] -%}
    {%- set subject = model ~ ('.' ~ node.column_name if node.column_name else '') -%}
    {%- set test_name = metadata.name if metadata else node.name -%}
    {%- set label = (subject ~ ' ' if subject else '') ~ test_name -%}
    {%- if kwargs.get('to') -%}
        {%- set target = kwargs.get('to') | replace("ref('", '') | replace("')", '') -%}
        {%- set label = label ~ ' -> ' ~ target ~ '.' ~ kwargs.get('field') -%}
    {%- endif -%}
    {{- label -}}
{%- endmacro %}


{#- A SQL string literal of `value` ('null' for none). -#}
{% macro vc_sql_text(value) -%}
    {%- if value is none -%}null{%- else -%}'{{ value | string | replace("'", "''") }}'{%- endif -%}
{%- endmacro %}
