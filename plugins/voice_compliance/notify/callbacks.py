"""Airflow callbacks that tell Slack (or the outbox) when a task fails for good.

Put ``task_failure_callback`` in every DAG's ``default_args`` as
``on_failure_callback``. Airflow calls it once the task's retries are spent,
in the task's own process, so the Slack connection resolves as it does for
any task.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Mapping
from typing import Any

from voice_compliance.config import PathSettings, Settings, SettingsError, SlackSettings
from voice_compliance.masking import mask_text
from voice_compliance.notify.blocks import build_failure_message
from voice_compliance.notify.slack import NotifySettings, notify

log = logging.getLogger(__name__)


def describe_exception(exception: object) -> str:
    """One or two lines about what failed: type, message and where it was raised."""
    if exception is None:
        return "no exception recorded"
    if not isinstance(exception, BaseException):
        return str(exception)
    text = f"{type(exception).__name__}: {exception}"
    frames = traceback.extract_tb(exception.__traceback__) if exception.__traceback__ else []
    if frames:
        last = frames[-1]
        text += f"\n  raised at {last.filename}:{last.lineno} in {last.name}"
    return text


def _log_url(ti: object) -> str | None:
    # The property reads Airflow's configuration; a broken one must not stop the message.
    try:
        url = getattr(ti, "log_url", None)
    except Exception:
        return None
    return url if isinstance(url, str) and url else None


def failure_message_from_context(context: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """The failure message and its outbox key, from an Airflow 3 task context.

    Reads ``dag_run.run_id``, the task instance (``ti`` or ``task_instance``)
    for ``dag_id``, ``task_id``, ``try_number``, ``map_index`` and
    ``log_url``, and ``exception``; anything missing becomes ``"?"``.
    """
    ti = context.get("ti") or context.get("task_instance")
    dag_run = context.get("dag_run")
    run_id = str(getattr(dag_run, "run_id", None) or getattr(ti, "run_id", None) or "?")
    dag_id = str(
        getattr(ti, "dag_id", None)
        or getattr(dag_run, "dag_id", None)
        or getattr(context.get("dag"), "dag_id", None)
        or "?"
    )
    task_id = str(
        getattr(ti, "task_id", None) or getattr(context.get("task"), "task_id", None) or "?"
    )
    try_number = getattr(ti, "try_number", None)
    try_number = try_number if isinstance(try_number, int) else None
    map_index = getattr(ti, "map_index", None)
    mapped = f"[{map_index}]" if isinstance(map_index, int) and map_index >= 0 else ""
    message = build_failure_message(
        dag_id=dag_id,
        task_id=task_id + mapped,
        run_id=run_id,
        try_number=try_number,
        exception=describe_exception(context.get("exception")),
        log_url=_log_url(ti),
    )
    # One message per failed try: a cleared task that fails again is news.
    key = f"failure:{dag_id}:{run_id}:{task_id}{mapped}:{try_number}"
    return message, key


def task_failure_callback(context: Mapping[str, Any]) -> None:
    """Airflow ``on_failure_callback``: queue (and try to send) a masked failure message.

    Settings come from the ``paths`` and ``slack`` sections of the
    environment alone, each falling back to its defaults when invalid: a bad
    variable elsewhere (``VC_DUCKDB_THREADS=abc``) fails the run at
    ``check_settings``, and that failure must still reach Slack or the
    outbox. Never raises: a failing callback would only bury the task's own
    error in the log.
    """
    try:
        message, key = failure_message_from_context(context)
        result = notify(message, key=key, settings=_notify_settings())
        log.info(
            "Failure notification %s: queued=%s, %s (%d pending)",
            result.key,
            result.queued,
            result.flush.reason,
            result.flush.pending,
        )
    except Exception as exc:
        log.warning("Could not notify the failure: %s", mask_text(f"{type(exc).__name__}: {exc}"))


def _notify_settings() -> NotifySettings:
    """Where a failure message goes, whatever else the environment gets wrong."""
    try:
        data_dir = Settings.section_from_env("paths").data_dir
    except SettingsError as exc:
        log.warning("Failure alert: %s; the default data folder is used", mask_text(str(exc)))
        data_dir = PathSettings.model_validate({}).data_dir
    try:
        return NotifySettings.from_env(data_dir)
    except SettingsError as exc:
        log.warning("Failure alert: %s; the default Slack settings are used", mask_text(str(exc)))
        return NotifySettings.from_settings(SlackSettings(), data_dir)
