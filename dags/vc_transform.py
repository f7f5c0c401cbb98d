"""Airflow DAG ``vc_transform``: build the dbt project (staging -> clause marts),
report it per policy clause, then the dbt docs.

One task runs a single ``dbt build`` of the whole project (dbt's start-up
paid once, not once per node); one light task per clause of the dbt project
(plus ``foundation`` and ``compliance``) then reports that clause's models
and tests from the build's results and fails when any of them did not pass.
See decision 0011 for the measurements.

The graph is static: it is built from the dbt manifest ``make setup`` writes
(``dbt_runner.PROJECT_MANIFEST``, decision 0017), one JSON read at parse
time; no walk of the project, no YAML. Without that file this module fails
to import with one error saying to run ``make setup``. The policy reaches
dbt when a task runs, never at parse time. Cosmos (the docs task) is
imported inside ``_docs_task``, when the DAG is built, not at module level.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.sdk import Param, TaskGroup, TriggerRule, dag, task

from voice_compliance import dbt_runner
from voice_compliance.assets import INGESTION_ASSETS, MARTS_ASSET
from voice_compliance.dag_support import (
    START_DATE,
    WAREHOUSE_PARAM,
    check_settings_task,
    default_args,
    group_report,
    policy_vars_json,
    settings_from_params,
    transform_clause_ids,
)

log = logging.getLogger(__name__)

BUILD_TASK_ID = "dbt_build"
PUBLISH_TASK_ID = "publish_marts"
CLAUSE_GROUP_ID = "clause"
OUTCOMES_XCOM_KEY = "outcomes"

CLAUSE_IDS: list[str] = transform_clause_ids()
"""The project's clauses (the manifest's ``meta.clause_id``): one report task each."""

# One retry for the build and the docs: a lock held by another DuckDB process
# is transient. A failed model or data test is not: the build then fails
# without retrying (AirflowFailException), and the report tasks, which only
# read the build's results, never retry.
DEFAULT_ARGS: dict[str, Any] = default_args(retries=1, retry_delay_s=15)

PARAMS: dict[str, Param] = {
    "warehouse": WAREHOUSE_PARAM,
    "full_refresh": Param(
        False,
        type="boolean",
        description=(
            "Re-derive every incremental model from the whole raw layer (same results) "
            "instead of only the call days that new or changed files touched."
        ),
    ),
}

DBT_SETTINGS_ENV: tuple[str, ...] = (
    "VC_WAREHOUSE",
    "VC_DUCKDB_MEMORY_LIMIT",
    "VC_DUCKDB_THREADS",
    "VC_DUCKDB_TEMP_DIRECTORY",
    "VC_DBT_THREADS",
)
"""Settings ``profiles.yml`` reads: the warehouse file, DuckDB's resource bounds, dbt's threads."""

DBT_OPERATOR_ARGS: dict[str, Any] = {
    "install_deps": False,
    "append_env": True,
    # profiles.yml reads these from the environment: the run's param for the
    # warehouse, the worker's settings for the rest (resolved when the task runs).
    "env": {
        **{name: f"{{{{ vc_env(params, '{name}') }}}}" for name in DBT_SETTINGS_ENV},
        # No tracking calls (no internet) and no .user.yml in the project.
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_USE_COLORS": "false",
    },
    # One coarse Asset (marts.compliance) instead of one per dbt node.
    "emit_datasets": False,
}


def _setting_env(params: dict[str, Any] | None, name: str) -> str:
    """Template macro ``vc_env(params, name)``: one setting of the run, as dbt sees it."""
    return settings_from_params(params).to_env().get(name, "")


@task(task_id=BUILD_TASK_ID)
def dbt_build(params: dict[str, Any] | None = None, ti: Any = None) -> dict[str, int]:
    """`dbt build` of the whole project (seeds, unit tests, models, data tests).

    Its node results, grouped per clause, go to XCom (`outcomes`) for the
    report tasks, also when the build fails. A failed model or test fails
    this task without a retry; a failure before any node ran (a lock held by
    another DuckDB process) is retried.
    """
    from airflow.sdk.exceptions import AirflowFailException

    from voice_compliance.validation import gx_project

    settings = settings_from_params(params)
    # Validation runs next in this process when the embedded runner runs
    # the pipeline: GX's import overlaps dbt's child process (decision 0035).
    importer = gx_project.import_gx_in_background()
    try:
        full_refresh = bool((params or {}).get("full_refresh"))
        result = dbt_runner.dbt_build(settings, full_refresh=full_refresh)
    except dbt_runner.DbtCommandFailed as failed:
        outcomes = dbt_runner.build_outcomes(settings, CLAUSE_IDS)
        if failed.failures:
            ti.xcom_push(key=OUTCOMES_XCOM_KEY, value=outcomes)
            raise AirflowFailException(str(failed)) from failed
        raise
    finally:
        # a task process that ends now (dbt failed at once) must not exit
        # in the middle of an import
        importer.join(timeout=gx_project.BACKGROUND_IMPORT_WAIT_S)
    ti.xcom_push(key=OUTCOMES_XCOM_KEY, value=dbt_runner.build_outcomes(settings, CLAUSE_IDS))
    log.info("%s", result)
    return dict(result.statuses)


def _report_task(group: str, task_id: str, doc: str) -> Any:
    """A task that passes when every node of ``group`` passed in the build."""

    @task(task_id=task_id, trigger_rule=TriggerRule.ALL_DONE, retries=0, doc_md=doc)
    def report(ti: Any = None) -> dict[str, int]:
        outcomes = ti.xcom_pull(task_ids=BUILD_TASK_ID, key=OUTCOMES_XCOM_KEY)
        return group_report(outcomes, group)

    return report()


def _docs_task() -> Any:
    """``dbt docs generate --static`` through Cosmos, kept by ``dbt_runner.collect_docs``,
    when the site would change (``voice_compliance.dbt_docs_task``)."""
    from cosmos import settings as cosmos_settings
    from cosmos.config import ProfileConfig
    from cosmos.constants import InvocationMode

    from voice_compliance.dbt_docs_task import DbtDocsWhenChangedOperator

    return DbtDocsWhenChangedOperator(
        task_id="dbt_docs_generate",
        doc_md=(
            "Generate the dbt docs site, unless the project, the policy and the "
            "warehouse's columns are those of the current site."
        ),
        project_dir=str(dbt_runner.DBT_PROJECT_DIR),
        profile_config=ProfileConfig(
            profile_name="voice_compliance",
            target_name=dbt_runner.PROFILE_TARGET,
            profiles_yml_filepath=dbt_runner.PROFILES_DIR / "profiles.yml",
        ),
        # dbt in a child process: dbt-duckdb keeps its DuckDB database open
        # in the process that ran it, with dbt's settings, and the next DAG of
        # a pipeline run (same process, airflow_runner.run_dags) could not
        # open the warehouse with its own.
        invocation_mode=InvocationMode.SUBPROCESS,
        dbt_executable_path=_dbt_path(),
        # The policy as --vars, rendered when the task runs (no YAML at parse).
        dbt_cmd_flags=["--static", "--vars", "{{ vc_policy_vars() }}"],
        # dbt's partial parse: Cosmos starts from the newer of the project's
        # (`make setup` parses it) and the one it kept after the last run here,
        # instead of a full parse in its temporary copy (10 s, decision 0022).
        cache_dir=cosmos_settings.cache_dir / "vc_transform",
        callback="voice_compliance.dbt_runner.collect_docs",
        **DBT_OPERATOR_ARGS,
    )


def _dbt_path() -> str:
    """The dbt the build runs (beside this interpreter, else on ``PATH``), found
    at parse time without failing it: a missing dbt fails the task instead."""
    try:
        return dbt_runner.dbt_executable()
    except FileNotFoundError:
        return str(dbt_runner.VENV_BIN / "dbt")


@task(
    task_id=PUBLISH_TASK_ID,
    outlets=[MARTS_ASSET],
    doc_md=(
        "Update the Asset `marts.compliance`, on which `vc_validate` is scheduled: "
        "every group passed in the build. The docs site is a side branch: its "
        "failure does not hold back validation, tickets and Slack."
    ),
)
def publish_marts() -> str:
    return MARTS_ASSET.name


@dag(
    dag_id="vc_transform",
    schedule=list(INGESTION_ASSETS),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    params=PARAMS,
    user_defined_macros={"vc_env": _setting_env, "vc_policy_vars": policy_vars_json},
    tags=["voice-compliance", "transformation", "dbt"],
)
def vc_transform() -> None:
    """
    ### Transform: dbt build of the compliance marts, reported per clause

    Runs the dbt project `dbt_project/` on the warehouse (staging views, the
    intermediate models, one mart per policy clause, `policy_violations`,
    `clause_summary`), then **`dbt_docs_generate`**: the docs site with the
    warehouse catalog at `<data_dir>/dbt/target/static_index.html`, generated
    again only when the project, the policy or the warehouse's columns
    changed (a new day of data changes none of them). **`publish_marts`**
    updates the Asset **`marts.compliance`**, which validation schedules on,
    once every group passed; the docs task beside it does not hold it back.

    * **Schedule**: data-aware, once *every* ingestion Asset (`raw.*`) has
      been updated since the last run: after a complete
      ingestion cycle, never on a half-loaded warehouse.
    * **`dbt_build`**: one `dbt build` of the whole project, in dependency
      order (unit tests, each model, its data tests; a failing test skips
      what is downstream of it). Its log has dbt's whole output.
    * **`clause.<clause_id>`**, one per clause of the dbt project (its
      models' `meta.clause_id` in the manifest `make setup` writes): green when
      every model and test tagged with that clause passed in the build; red
      with the list of those that failed, errored, were skipped or not run.
      **`foundation`** does the same for seeds, staging and shared models,
      **`compliance`** for the cross-clause marts. They run whatever the
      build's outcome, so the grid shows which clause broke; when the build
      never ran dbt (settings or the build itself failed first) they are
      skipped, so that failure alerts once, not once per clause.
    * **Policy**: every dbt command gets `dbt_project/policy.yml` as `--vars`.
    * **Pool**: every task runs in `duckdb_writer` (one slot): DuckDB allows
      one writer per file.

    **Incremental**: call-level models re-derive only the call days that new
    or changed landing files touched (decision 0012); the param
    `full_refresh` re-derives everything, with identical results. After an
    upgrade or an edit of the dbt project (or of dbt or DuckDB), the build
    re-derives everything once by itself (decision 0033).

    **Params**: `warehouse` (DuckDB file); empty means `VC_WAREHOUSE` or the
    embedded default. `full_refresh` (default false).
    """
    build = dbt_build()
    check_settings_task(landing=False) >> build
    foundation = _report_task(
        dbt_runner.FOUNDATION_GROUP,
        "foundation",
        "Seeds, staging and shared models (no clause tag) and their tests.",
    )
    with TaskGroup(CLAUSE_GROUP_ID, tooltip="One task per clause of the dbt project") as clauses:
        for clause_id in CLAUSE_IDS:
            _report_task(
                clause_id,
                clause_id,
                f"Models and tests tagged `{clause_id}` (mart `clause_"
                f"{clause_id.replace('.', '__')}`): did they all pass in `dbt_build`?",
            )
    compliance = _report_task(
        dbt_runner.COMPLIANCE_GROUP,
        "compliance",
        "The cross-clause marts (`policy_violations`, `clause_summary`...) and their tests.",
    )
    reports = [foundation, clauses, compliance]
    build >> reports >> publish_marts()
    reports >> _docs_task()


vc_transform()
