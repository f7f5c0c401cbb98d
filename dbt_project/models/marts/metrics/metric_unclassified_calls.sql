{#-
    Data-quality metric per account and UTC month: outbound attempts with no
    campaign (unclassified; treated as telemarketing when
    treat_unclassified_as_telemarketing) and their share of all attempts.
-#}
with

account_months as (

    select * from {{ ref('int_account_months_aggregated') }}

),

final as (

    select
        account_sid,
        call_month as metric_month,
        month_start,
        attempts,
        unclassified_attempts,
        unclassified_attempts * 1.0 / attempts as unclassified_share,
        {{ var('treat_unclassified_as_telemarketing') }} as treated_as_telemarketing
    from account_months

)

select * from final
