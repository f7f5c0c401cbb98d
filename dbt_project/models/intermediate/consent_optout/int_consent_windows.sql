{#-
    One row per consent record: the window [granted_at, revoked_at) during
    which it lets (number, brand) be called, for its consent_type and channel,
    with whether the channel counts for calls (consent_channels) and whether
    the type is accepted in the number's country
    (consent_accepted_types_by_country, else consent_accepted_types_default).
    The number's country is the callee's country for every call it matches
    (calls join on the same E.164 number).
-#}
{%- set by_country = var('consent_accepted_types_by_country') -%}
{%- set accepted = [] -%}
{%- for consent_type in var('consent_accepted_types_default') -%}
    {%- do accepted.append(('default', consent_type)) -%}
{%- endfor -%}
{%- for country, types in by_country.items() -%}
    {%- for consent_type in types -%}
        {%- do accepted.append((country, consent_type)) -%}
    {%- endfor -%}
{%- endfor -%}

with

consent as (

    select * from {{ ref('stg_exports__consent') }}

),

accepted_types as (

    {%- for scope, consent_type in accepted %}
    select '{{ scope }}' as type_scope, '{{ consent_type }}' as consent_type
    {{- ' union all' if not loop.last }}
    {%- else %}
    select cast(null as {{ dbt.type_string() }}) as type_scope, cast(null as {{ dbt.type_string() }}) as consent_type
    where 1 = 0
    {%- endfor %}

),

scoped as (

    select
        *,
        {%- if by_country %}
        case
            when phone_number_region_code in ('{{ by_country.keys() | join("', '") }}')
                then phone_number_region_code
            else 'default'
        end as type_scope
        {%- else %}
        'default' as type_scope
        {%- endif %}
    from consent
    -- a number that does not normalize can never match a callee
    where phone_number_e164 is not null

),

final as (

    select
        {{ dbt.concat(['scoped._source_file', "':'", dbt.cast('scoped._source_line', dbt.type_string())]) }}
            as consent_id,
        scoped.phone_number_e164 as phone_e164,
        scoped.phone_number_region_code as phone_region_code,
        scoped.brand,
        scoped.consent_type,
        scoped.channel,
        scoped.type_scope,
        scoped.channel in ('{{ var('consent_channels') | join("', '") }}') as is_voice_channel,
        accepted_types.consent_type is not null as is_accepted_type,
        scoped.granted_at as valid_from,
        scoped.revoked_at as valid_to,
        scoped.source as consent_source,
        scoped.evidence_ref
    from scoped
    left join accepted_types
        on scoped.type_scope = accepted_types.type_scope
        and scoped.consent_type = accepted_types.consent_type

)

select * from final
