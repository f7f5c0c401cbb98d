{#-
    The national do-not-call registries that cover each callee country
    (dnc_registries_by_country) and the maximum age each may reach
    (dnc_registry_max_age_days), rendered from policy.yml at compile time.
    A registry without a configured maximum age fails compilation on purpose.
-#}
{%- set pairs = [] -%}
{%- for country, registries in var('dnc_registries_by_country').items() -%}
    {%- for registry in registries -%}
        {%- do pairs.append((country, registry)) -%}
    {%- endfor -%}
{%- endfor -%}

with

country_registries as (

    {%- for country, registry in pairs %}
    select
        cast('{{ country }}' as {{ dbt.type_string() }}) as country,
        cast('{{ registry }}' as {{ dbt.type_string() }}) as registry,
        cast({{ var('dnc_registry_max_age_days')[registry] }} as {{ dbt.type_int() }})
            as max_age_days
    {{ 'union all' if not loop.last }}
    {%- else %}
    select
        cast(null as {{ dbt.type_string() }}) as country,
        cast(null as {{ dbt.type_string() }}) as registry,
        cast(null as {{ dbt.type_int() }}) as max_age_days
    where 1 = 0
    {%- endfor %}

)

select * from country_registries
