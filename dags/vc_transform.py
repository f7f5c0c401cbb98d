"""Airflow DAG ``vc_transform``: build the dbt project (staging -> clause marts)
with Cosmos, then the dbt docs.

Cosmos renders one task per dbt node from the manifest that
``voice_compliance.dbt_runner`` publishes at ``<data_dir>/dbt/manifest.json``
(``LoadMode.DBT_MANIFEST``: dbt is not called while the file is parsed).
Without that manifest the DAG falls back to a single ``dbt build`` task (see
the DAG doc). Cosmos is imported inside the functions below, when the DAG is
built, not at module level.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from airflow.sdk import Param, dag, task

from voice_compliance import dbt_runner
from voice_compliance.assets import INGESTION_ASSETS, MARTS_ASSET
from voice_compliance.config import Settings
from voice_compliance.dag_support import (
    START_DATE,
    WAREHOUSE_PARAM,
    default_args,
    settings_from_params,
)
from voice_compliance.policy import policy_vars

if TYPE_CHECKING:
    from pathlib import Path

    from airflow.sdk import DAG

log = logging.getLogger(__name__)

DBT_GROUP_ID = "dbt"

# One retry: a lock held by another DuckDB process is transient; a model
# error or a failed data test is not.
DEFAULT_ARGS: dict[str, Any] = default_args(retries=1, retry_delay_s=15)

PARAMS: dict[str, Param] = {"warehouse": WAREHOUSE_PARAM}

DBT_OPERATOR_ARGS: dict[str, Any] = {
    "install_deps": False,
    "append_env": True,
    # profiles.yml reads the warehouse from VC_WAREHOUSE: the run's param, else
    # the worker's environment (resolved when the task runs).
    "env": {
        "VC_WAREHOUSE": "{{ vc_warehouse(params) }}",
        # No tracking calls (no internet) and no .user.yml in the project.
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_USE_COLORS": "false",
    },
    # One coarse Asset (marts.compliance) instead of one per dbt node.
    "emit_datasets": False,
}


def _warehouse(params: dict[str, Any] | None) -> str:
    """Template macro ``vc_warehouse(params)``: the run's warehouse file."""
    return str(settings_from_params(params).warehouse)


def _cosmos_configs(manifest: Path | None = None) -> dict[str, Any]:
    """Cosmos' project, profile and execution configuration (shared by all dbt tasks)."""
    from cosmos.config import ExecutionConfig, ProfileConfig, ProjectConfig
    from cosmos.constants import ExecutionMode, InvocationMode, TestIndirectSelection

    project = ProjectConfig(
        dbt_project_path=dbt_runner.DBT_PROJECT_DIR,
        manifest_path=manifest,
        dbt_vars=policy_vars(),
        install_dbt_deps=False,
    )
    if manifest is not None:
        # Cosmos wraps it in an ObjectStoragePath, whose first use imports every
        # provider's filesystem (seconds per parse); the attribute is typed
        # ``Path | ObjectStoragePath`` and ours is a local file.
        project.manifest_path = manifest
    return {
        "project_config": project,
        "profile_config": ProfileConfig(
            profile_name="voice_compliance",
            target_name=dbt_runner.PROFILE_TARGET,
            profiles_yml_filepath=dbt_runner.PROFILES_DIR / "profiles.yml",
        ),
        "execution_config": ExecutionConfig(
            execution_mode=ExecutionMode.LOCAL,
            # dbtRunner inside the task's process: no dbt start-up per task.
            invocation_mode=InvocationMode.DBT_RUNNER,
            dbt_executable_path=dbt_runner.VENV_BIN / "dbt",
            # Tests over several models run in their own task (see RenderConfig).
            test_indirect_selection=TestIndirectSelection.CAUTIOUS,
        ),
    }


def _dbt_task_group(manifest: Path) -> Any:
    """One Cosmos task per dbt node (``dbt build --select <node>``), from ``manifest``."""
    from cosmos.airflow.task_group import DbtTaskGroup
    from cosmos.config import RenderConfig
    from cosmos.constants import LoadMode, SourceRenderingBehavior, TestBehavior

    return DbtTaskGroup(
        group_id=DBT_GROUP_ID,
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            test_behavior=TestBehavior.BUILD,
            should_detach_multiple_parents_tests=True,
            source_rendering_behavior=SourceRenderingBehavior.NONE,
            emit_datasets=False,
        ),
        operator_args=DBT_OPERATOR_ARGS,
        default_args=DEFAULT_ARGS,
        **_cosmos_configs(manifest),
    )


def _docs_task() -> Any:
    """``dbt docs generate --static`` through Cosmos, kept by ``dbt_runner.collect_docs``."""
    from cosmos.operators.local import DbtDocsLocalOperator

    configs = _cosmos_configs()
    return DbtDocsLocalOperator(
        task_id="dbt_docs_generate",
        doc_md="Generate the dbt docs site; update the Asset `marts.compliance`.",
        project_dir=str(dbt_runner.DBT_PROJECT_DIR),
        profile_config=configs["profile_config"],
        vars=configs["project_config"].dbt_vars,
        invocation_mode=configs["execution_config"].invocation_mode,
        dbt_executable_path=str(configs["execution_config"].dbt_executable_path),
        dbt_cmd_flags=["--static"],
        callback="voice_compliance.dbt_runner.collect_docs",
        outlets=[MARTS_ASSET],
        **DBT_OPERATOR_ARGS,
    )


@dag(
    dag_id="vc_transform",
    schedule=list(INGESTION_ASSETS),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    params=PARAMS,
    user_defined_macros={"vc_warehouse": _warehouse},
    tags=["voice-compliance", "transformation", "dbt"],
)
def vc_transform() -> None:
    """
    ### Transform: dbt build of the compliance marts

    Runs the dbt project `dbt_project/` on the warehouse (staging views, the
    intermediate models, one mart per policy clause, `policy_violations`,
    `clause_summary`), then **`dbt_docs_generate`**: the docs site with the
    warehouse catalog at `<data_dir>/dbt/target/static_index.html`. That last
    task updates the Asset **`marts.compliance`**, which validation schedules on.

    * **Schedule**: data-aware, once *every* ingestion Asset (`raw.*` and
      `registry.state`) has been updated since the last run: after a complete
      ingestion cycle, never on a half-loaded warehouse.
    * **Tasks** (group `dbt`): rendered by Cosmos from the dbt manifest, one
      per model or seed, each running `dbt build --select <node>`: unit tests,
      the node, its data tests. A failing test stops everything downstream,
      as in `dbt build`. A test over several models runs in its own task once
      all of them are built.
    * **Policy**: every dbt command gets `dbt_project/policy.yml` as `--vars`.
    * **Pool**: every task runs in `duckdb_writer` (one slot): DuckDB allows
      one writer per file.

    **Manifest** (`<data_dir>/dbt/manifest.json`): `python -m voice_compliance
    run` runs `dbt parse` just before this DAG, so the graph matches the models
    on disk; `dbt_docs_generate` refreshes it at the end of every run. Without
    a manifest (a fresh deployment under a scheduler) the DAG shows one
    `dbt_build` task that builds the whole project in a single `dbt build`
    (same result, coarser tasks) and the docs task then writes the manifest,
    so the next parse renders the per-node graph. The line below says which
    graph this is.

    **Params**: `warehouse` (DuckDB file); empty means `VC_WAREHOUSE` or the
    embedded default.
    """
    manifest = dbt_runner.manifest_path(Settings.from_env())
    if manifest.is_file():
        _dbt_task_group(manifest) >> _docs_task()
        return

    @task
    def dbt_build(params: dict[str, Any] | None = None) -> dict[str, int]:
        """No manifest yet: build the whole project in one `dbt build`."""
        result = dbt_runner.dbt_build(settings_from_params(params))
        log.info("%s", result)
        return dict(result.statuses)

    dbt_build() >> _docs_task()


def _manifest_note(dag_object: DAG) -> None:
    """Append the manifest's state to the DAG doc, so the UI says which graph this is."""
    settings = Settings.from_env()
    manifest = dbt_runner.manifest_path(settings)
    if not manifest.is_file():
        note = f"none at `{manifest}`: the single `dbt_build` task runs until one is written."
    elif dbt_runner.manifest_is_current(settings):
        note = f"`{manifest}`, up to date with `{dbt_runner.DBT_PROJECT_DIR.name}/`."
    else:
        note = (
            f"`{manifest}` is **older than files in `{dbt_runner.DBT_PROJECT_DIR.name}/`**: "
            "new or changed models appear after the next run (or `dbt parse`)."
        )
    dag_object.doc_md = f"{dag_object.doc_md or ''}\n**Manifest now**: {note}\n"


_manifest_note(vc_transform())
