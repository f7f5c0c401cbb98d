{#-
    The UTC call days that call-level models re-derive on an incremental run:
    the days that new or changed landing files can change.
    - a call file: the days it holds now and the days it held when last
      derived (a reloaded file may have dropped a day), and the days of
      every other copy of its calls (a later copy that moves a call to
      another day must also remove it from the day of the copy it beats);
    - a call with fewer copies than when it was last ranked
      (stg_twilio__calls.copies_loaded, read before that model runs again):
      the days of the copies it has left (a reloaded file dropped its
      winning copy, and a copy on another day wins now);
    - consent: every day from the earliest granted_at / revoked_at of its
      rows; opt-outs and the internal list: from the earliest request;
      a registry file: from its effective date, or every day when it is
      the first file of its registry that lists numbers (calls before that
      date become subjects of dnc.registry, and every call's
      registries_checked changes: int_dnc_registry_coverage; a full
      snapshot that listed nothing does not count, stg_registry__files.
      counts_as_list);
    - call metadata and disclosures: the days of the calls they name;
    - complaints: no call day (they count per month, in tables rebuilt
      every run);
    - campaigns, numbers, accounts, any other source, and any replaced
      (reloaded) export: every day;
    - every day, when the policy settings the project reads differ from
      those the last applied run derived with (vc_policy_fingerprint);
    - the days the previous run listed here, when that run stopped before
      int_manifest_applied (a model failed): it may have ranked calls again
      in stg_twilio__calls without re-deriving their days, and the next run
      no longer sees those calls' copies as changed.
    On the first run and on a full refresh the call-level models derive
    every day whatever this holds.
-#}

{%- set all_days = "cast('1900-01-01' as date)" -%}

with

snapshot as (

    select * from {{ ref('int_manifest_snapshot') }}

),

previous as (

    {{ vc_previous_applied_manifest() }}

),

changed_files as (

    select distinct file_id, source, source_uri, was_applied
    from snapshot
    where is_changed

),

known_days as (

    select call_date from snapshot where call_date is not null
    union
    select call_date from previous where call_date is not null

),

call_file_days as (

    -- the days changed call files held when last derived; the days they hold
    -- now are among copy_days
    select previous.call_date
    from previous
    inner join changed_files on previous.file_id = changed_files.file_id
    where changed_files.source = 'calls' and previous.call_date is not null

),

changed_call_sids as (

    select distinct call_copies.call_sid
    from {{ ref('stg_twilio__call_copies') }} as call_copies
    inner join changed_files on call_copies.file_id = changed_files.file_id
    where changed_files.source = 'calls'

),

copy_days as (

    -- the days of every copy, in any file, of the calls changed call files
    -- hold now (their own copies included)
    select call_copies.call_date
    from {{ ref('stg_twilio__call_copies') }} as call_copies
    inner join changed_call_sids on call_copies.call_sid = changed_call_sids.call_sid
    where call_copies.call_date is not null

),

previously_changed as (

    {{ vc_previously_changed_days() }}

),

pending_days as (

    -- listed by a run that did not reach int_manifest_applied
    select previously_changed.call_date
    from previously_changed
    where previously_changed.derived_in is not null
        and previously_changed.derived_in not in (
            select previous.applied_in from previous where previous.applied_in is not null
        )

),

previous_calls as (

    {{ vc_previously_ranked_calls() }}

),

copies_left as (

    select call_sid, count(*) as copies
    from {{ ref('stg_twilio__call_copies') }}
    group by call_sid

),

recounted_call_sids as (

    select previous_calls.call_sid
    from previous_calls
    inner join copies_left on previous_calls.call_sid = copies_left.call_sid
    where copies_left.copies < previous_calls.copies_loaded

),

recounted_days as (

    select call_copies.call_date
    from {{ ref('stg_twilio__call_copies') }} as call_copies
    inner join recounted_call_sids on call_copies.call_sid = recounted_call_sids.call_sid

),

consent_from as (

    select
        _source_file,
        min({{ vc_utc_date('least(granted_at, coalesce(revoked_at, granted_at))') }}) as from_day
    from {{ ref('stg_exports__consent') }}
    group by _source_file

),

optouts_from as (

    select _source_file, min({{ vc_utc_date('requested_at') }}) as from_day
    from {{ ref('stg_exports__optouts') }}
    group by _source_file

),

dnc_internal_from as (

    select _source_file, min({{ vc_utc_date('added_at') }}) as from_day
    from {{ ref('stg_exports__dnc_internal') }}
    group by _source_file

),

registry_files as (

    select file_id, registry, source_uri, effective_date, counts_as_list
    from {{ ref('stg_registry__files') }}

),

registry_from as (

    select source_uri as _source_file, effective_date as from_day
    from registry_files

),

dated_exports as (

    select * from consent_from
    union all
    select * from optouts_from
    union all
    select * from dnc_internal_from
    union all
    select * from registry_from

),

registries_loaded_before as (

    -- registries with a loaded file this run did not bring (a full snapshot
    -- that listed nothing does not count: int_dnc_registry_coverage)
    select distinct registry_files.registry
    from registry_files
    left join changed_files on registry_files.file_id = changed_files.file_id
    where changed_files.file_id is null and registry_files.counts_as_list

),

first_registry_files as (

    -- changed registry files that list numbers, whose registry had no
    -- other such file
    select registry_files.file_id
    from registry_files
    inner join changed_files on registry_files.file_id = changed_files.file_id
    left join registries_loaded_before
        on registry_files.registry = registries_loaded_before.registry
    where registries_loaded_before.registry is null and registry_files.counts_as_list

),

export_thresholds as (

    -- the first day each changed export can change; every day when unknown
    select
        changed_files.file_id,
        case
            when changed_files.was_applied then {{ all_days }}
            when first_registry_files.file_id is not null then {{ all_days }}
            when changed_files.source in ('consent', 'optouts', 'dnc_internal')
                or changed_files.source like 'registry%'
                then coalesce(min(dated_exports.from_day), {{ all_days }})
            else {{ all_days }}
        end as from_day
    from changed_files
    left join dated_exports on changed_files.source_uri = dated_exports._source_file
    left join first_registry_files on changed_files.file_id = first_registry_files.file_id
    where changed_files.source not in ('calls', 'complaints')
        and (
            changed_files.source not in ('call_metadata', 'disclosures')
            or changed_files.was_applied
        )
    group by
        changed_files.file_id,
        changed_files.source,
        changed_files.was_applied,
        first_registry_files.file_id

),

threshold_days as (

    select known_days.call_date
    from known_days
    inner join export_thresholds on known_days.call_date >= export_thresholds.from_day

),

call_references as (

    select call_sid, _source_file from {{ ref('stg_exports__call_metadata') }}
    union all
    select call_sid, _source_file from {{ ref('stg_exports__disclosures') }}

),

referenced_days as (

    select call_copies.call_date
    from call_references
    inner join changed_files
        on call_references._source_file = changed_files.source_uri
        and not changed_files.was_applied
    inner join {{ ref('stg_twilio__call_copies') }} as call_copies
        on call_references.call_sid = call_copies.call_sid

),

policy_changes as (

    -- the last applied run derived with other policy settings, or recorded
    -- none (it predates the fingerprint)
    select count(*) as files
    from previous
    where {{ vc_policy_differs('previous.policy_fingerprint') }}

),

policy_days as (

    select known_days.call_date
    from known_days
    cross join policy_changes
    where policy_changes.files > 0

),

final as (

    select call_date from call_file_days
    union
    select call_date from policy_days
    union
    select call_date from copy_days
    union
    select call_date from recounted_days
    union
    select call_date from threshold_days
    union
    select call_date from referenced_days
    union
    select call_date from pending_days

)

select
    call_date,
    cast('{{ invocation_id }}' as {{ dbt.type_string() }}) as derived_in
from final
where call_date is not null
