{#-
    Evidence fields shared by the call-level clauses whose subjects are
    telemarketing calls (policy-rules "Conventions": a call with no campaign,
    or a campaign_id missing from campaigns, is unclassified and treated as
    telemarketing by default, treat_unclassified_as_telemarketing). A reader
    of the evidence must see when a call is a subject only because of that
    default, not because its campaign says telemarketing.

    Returns [key, sql_expression] pairs for vc_json_object; the arguments
    are SQL expressions of the call's is_unclassified flag and campaign_id.
-#}
{% macro vc_telemarketing_evidence(is_unclassified, campaign_id) -%}
    {%- set default_note =
        "treated as telemarketing by policy (treat_unclassified_as_telemarketing)" -%}
    {%- set basis -%}
        case
            when {{ is_unclassified }} and {{ campaign_id }} is null
                then 'unclassified: no campaign (neither call_metadata nor an active inventory row of the caller number names one); {{ default_note }}'
            when {{ is_unclassified }}
                then 'unclassified: campaign_id not found in campaigns; {{ default_note }}'
            else 'campaign purpose is telemarketing'
        end
    {%- endset -%}
    {{ return([
        ('campaign_id', campaign_id),
        ('unclassified', 'coalesce(' ~ is_unclassified ~ ', false)'),
        ('telemarketing_basis', basis),
    ]) }}
{%- endmacro %}
