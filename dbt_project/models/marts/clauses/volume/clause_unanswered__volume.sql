{#-
    unanswered.volume: one row per originating number and UTC month with at
    least unanswered_min_attempts outbound attempts; a violation when the
    unanswered share exceeds unanswered_max_ratio, or, regardless of the
    share, when the unanswered attempts are at least unanswered_max_count.
-#}
{%- set clause_id = 'unanswered.volume' -%}
{{ vc_clause_config(clause_id) }}
with

number_months as (

    select * from {{ ref('int_number_months_aggregated') }}
    where attempts >= {{ var('unanswered_min_attempts') }}

),

final as (

    select
        '{{ clause_id }}' as clause_id,
        'number_month' as subject_type,
        {{ dbt.concat(['number_e164', "'/'", 'call_month']) }} as subject_id,
        account_sid,
        month_start as period_start,
        unanswered > {{ var('unanswered_max_ratio') }} * attempts
        or unanswered >= {{ var('unanswered_max_count') }} as is_violation,
        {{ vc_clause_severity(clause_id) }} as severity,
        {{ vc_json_object([
            ('number', 'number_e164'),
            ('month', 'call_month'),
            ('attempts', 'attempts'),
            ('answered', 'answered'),
            ('unanswered', 'unanswered'),
            ('unanswered_ratio', 'unanswered * 1.0 / attempts'),
            ('ratio_exceeded', 'unanswered > ' ~ var('unanswered_max_ratio') ~ ' * attempts'),
            ('count_reached', 'unanswered >= ' ~ var('unanswered_max_count')),
            ('unanswered_min_attempts', var('unanswered_min_attempts')),
            ('unanswered_max_ratio', var('unanswered_max_ratio')),
            ('unanswered_max_count', var('unanswered_max_count')),
            ('accounts', 'accounts'),
        ]) }} as evidence
    from number_months

)

select * from final
