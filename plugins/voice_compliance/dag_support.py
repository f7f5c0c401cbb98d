"""What every DAG file of the pipeline shares: default arguments, params, settings.

DAG files import this module at parse time, so it imports nothing heavier
than ``airflow.sdk`` and the package's configuration: the loaders, dbt, GX
and the Slack client are imported inside the tasks and callbacks that use
them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import pendulum
from airflow.sdk import Param

from voice_compliance.airflow_names import WRITER_POOL
from voice_compliance.config import Settings
from voice_compliance.masking import grouped, install_log_masking

log = logging.getLogger(__name__)
# Every DAG file imports this module, so every Airflow process that parses or
# runs our tasks (dag processor, task processes) masks its log lines.
install_log_masking()
START_DATE = pendulum.datetime(2025, 1, 1, tz="UTC")
OWNER = "data-engineering"


def on_task_failure(context: Mapping[str, Any]) -> None:
    """``on_failure_callback`` of every task: a masked Slack alert (or the outbox).

    Never raises: a notification problem must not hide the task's own failure.
    """
    try:
        from voice_compliance.notify.callbacks import task_failure_callback

        task_failure_callback(context)
    except Exception:  # the callback's own failure is only logged
        log.exception("could not send the task-failure notification")


PULL_CRON = "0 0 * * *"
"""``vc_pull_twilio``: daily at midnight UTC, once the day is over."""
INGESTION_CRON = "0 1 * * *"
"""The ingestion DAGs: daily at 01:00 UTC, an hour after the Twilio pull, so
that the calls it lands (``vc_ingest_calls`` also runs as soon as the pull
publishes) are in the same ingestion cycle, and so the same transform, as
that day's exports and registry files. On the same minute as the pull, the
pulled calls waited for the next day's cycle."""

TASK_TIMEOUT = timedelta(hours=6)
"""The longest any task may run before Airflow fails it (and it alerts): a
stuck task would otherwise hold the one-slot writer pool, and every DAG
behind it, with no alert. The largest measured task, the national
registry's load, takes minutes here."""


def default_args(retries: int = 2, retry_delay_s: int = 10, **extra: Any) -> dict[str, Any]:
    """Default task arguments: owner, retries, the writer pool, a timeout, the
    failure alert."""
    return {
        "owner": OWNER,
        "retries": retries,
        "retry_delay": timedelta(seconds=retry_delay_s),
        "pool": WRITER_POOL,
        "execution_timeout": TASK_TIMEOUT,
        "on_failure_callback": on_task_failure,
        **extra,
    }


def group_report(outcomes: Mapping[str, Any] | None, group: str) -> dict[str, int]:
    """What a per-clause report task of ``vc_transform`` returns: the node counts
    of ``group`` in the build (``dbt_runner.check_group``, which fails on any
    problem of the group).

    When the build never ran dbt (``check_settings`` or the build itself
    failed first: no outcomes), the task is skipped, not failed: that failure
    already alerted once, and fourteen more alerts blaming every clause would
    bury it.
    """
    from voice_compliance import dbt_runner

    if outcomes is None:
        from airflow.sdk.exceptions import AirflowSkipException

        raise AirflowSkipException(
            f"{group}: dbt build reported no node results (it did not run dbt; see dbt_build)"
        )
    return dbt_runner.check_group(outcomes, group)


def _path_param(description: str) -> Param:
    return Param(None, type=["null", "string"], description=description)


LANDING_PARAM = _path_param(
    "Landing zone: a folder or s3://bucket/prefix. Empty: VC_LANDING or default."
)
WAREHOUSE_PARAM = _path_param("DuckDB warehouse file. Empty: VC_WAREHOUSE or the default file.")


def ingestion_params() -> dict[str, Param]:
    """Params of the ingestion DAGs: ``landing`` and ``warehouse``."""
    return {"landing": LANDING_PARAM, "warehouse": WAREHOUSE_PARAM}


def settings_from_params(params: Mapping[str, Any] | None) -> Settings:
    """Settings from the environment, overridden by the run's params."""
    params = params or {}
    return Settings.from_env(landing=params.get("landing"), warehouse=params.get("warehouse"))


def ingest_task(source: str) -> Any:
    """The TaskFlow task that loads one landing source (call it inside a DAG)."""
    from airflow.sdk import task

    from voice_compliance.assets import raw_asset

    @task(task_id=f"load_{source}", outlets=[raw_asset(source)], multiple_outputs=False)
    def load(params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Load new or changed files of this source; return the load summary."""
        from voice_compliance.ingest import ingest_source

        settings = settings_from_params(params)
        summary = ingest_source(settings, source).as_dict()
        log.info(
            "Loaded %s from %s into %s: %s",
            source,
            settings.landing,
            settings.warehouse,
            grouped(summary),
        )
        return summary

    return load()


CHECK_TASK_ID = "check_settings"


def check_settings_task(
    *, landing: bool = True, landing_must_exist: bool = True, twilio: bool = False
) -> Any:
    """The first task of every DAG: ``voice_compliance.checks`` on the run's settings.

    Fails at once (no retry) listing every problem, before any data moves; the
    arguments say which settings the DAG uses (``checks.Scope``). It runs in
    the default pool: it writes nothing, so it never waits for the writer slot.
    """
    from airflow.sdk import task

    @task(task_id=CHECK_TASK_ID, pool="default_pool")
    def check_settings(params: dict[str, Any] | None = None) -> list[str]:
        """Check landing zone, warehouse, regions, policy file and connections."""
        from airflow.sdk.exceptions import AirflowFailException

        from voice_compliance import checks

        scope = checks.Scope(landing=landing, landing_must_exist=landing_must_exist, twilio=twilio)
        try:
            settings = settings_from_params(params)
            problems = checks.problems(settings, scope, checks.airflow_lookup)
        except ValueError as exc:  # an unparsable VC_* setting
            problems = getattr(exc, "problems", None) or [str(exc)]
        for problem in problems:
            log.error("settings: %s", problem)
        if problems:
            raise AirflowFailException(f"{len(problems)} settings problem(s): {problems[0]}")
        log.info("settings ok: landing %s, warehouse %s", settings.landing, settings.warehouse)
        return problems

    return check_settings()


def unassigned_task() -> Any:
    """The task that records files lying outside every source folder."""
    from airflow.sdk import task

    @task(task_id="record_unassigned_files")
    def record(params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Give files in no contract folder a manifest row; nothing is loaded."""
        from voice_compliance.ingest import record_unassigned_files

        summary = record_unassigned_files(settings_from_params(params)).as_dict()
        log.info("Files outside the landing-zone layout: %s", summary)
        return summary

    return record()


# --- vc_transform: its graph comes from the manifest `make setup` writes -------


class TransformManifestMissing(FileNotFoundError):
    """``vc_transform`` cannot be built: the dbt manifest was never written."""


def transform_clause_ids(manifest: Path | None = None) -> list[str]:
    """The clauses of the dbt project, one report task each in ``vc_transform``.

    Read from ``manifest`` (default ``dbt_runner.PROJECT_MANIFEST``, written by
    ``make setup``): the ``clause_id`` in the ``meta`` of its models, in the
    order of ``policy.CLAUSE_IDS`` (others after, by name). One JSON read: no
    walk of the project, no YAML. A missing manifest raises
    ``TransformManifestMissing`` saying to run ``make setup``; the DAG never
    takes another shape without it.
    """
    from voice_compliance import dbt_runner
    from voice_compliance.policy import CLAUSE_IDS

    path = manifest or dbt_runner.PROJECT_MANIFEST
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TransformManifestMissing(
            f"vc_transform needs the dbt manifest {path}: run `make setup` "
            "(`voice-compliance init` writes it with `dbt parse`)"
        ) from None
    nodes = json.loads(text).get("nodes", {})
    found = {
        str(clause_id)
        for node in nodes.values()
        if node.get("resource_type") == "model"
        and (clause_id := ((node.get("config") or {}).get("meta") or {}).get("clause_id"))
    }
    order = {clause_id: index for index, clause_id in enumerate(CLAUSE_IDS)}
    return sorted(found, key=lambda c: (order.get(c, len(order)), c))


def policy_vars_json() -> str:
    """Template macro ``vc_policy_vars()``: the policy as dbt ``--vars`` (JSON).

    Rendered when a task runs, so parsing a DAG file reads no policy file.
    """
    from voice_compliance.policy import policy_vars

    return json.dumps(policy_vars(), separators=(",", ":"))
