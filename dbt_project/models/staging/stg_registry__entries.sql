-- Raw rows of the national do-not-call registry files.
{#- A warehouse whose registry lines were stored before decision 0031 has no
    e164_number in raw.registry_entries until its next registry load moves the
    storage forward (voice_compliance.loading.registry_table). Until then the
    number is read from the E.164 text here, so a `dbt build` by hand right
    after an upgrade gives the same results, only slower. -#}
{%- set entries = source('raw', 'registry_entries') -%}
{%- set stored_number = true -%}
{%- if execute -%}
    {%- set columns = adapter.get_columns_in_relation(entries) | map(attribute='name') | map('lower') | list -%}
    {%- set stored_number = 'e164_number' in columns -%}
{%- endif %}
with

registry_entries as (
    select * from {{ entries }}
)

select
    registry,
    list_kind,
    effective_date,
    e164,
    {% if stored_number -%}
    e164_number,
    {%- else -%}
    {{ vc_e164_number('e164') }} as e164_number,
    {%- endif %}
    action,
    extra,
    _file_id as file_id,
    _source_file,
    _source_line,
    _loaded_at
from registry_entries
