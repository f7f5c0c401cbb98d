"""Slack notifications: one message per validation run, one per failed task.

Messages go through a Slack incoming webhook defined as the Airflow
connection ``vc_slack`` (``VC_SLACK_CONN_ID``); without it they wait in a
JSON-lines outbox under ``data/notifications/``. Every payload is made
outbound (no full phone number, no live spreadsheet formula:
``voice_compliance.sanitize``) where it is written or sent, and nothing here
ever fails the calling task. ``route_run`` splits a run's message by owner
(``policy.yml`` ``routing``, decision 0016). Airflow is imported only when a message is posted.
"""

from voice_compliance.notify.blocks import build_failure_message, build_run_message
from voice_compliance.notify.callbacks import task_failure_callback
from voice_compliance.notify.report import ClauseLine, RoutedReport, RunReport, route_run
from voice_compliance.notify.slack import (
    FlushResult,
    NotifyResult,
    NotifySettings,
    flush_outbox,
    notify,
)

__all__ = [
    "ClauseLine",
    "FlushResult",
    "NotifyResult",
    "NotifySettings",
    "RoutedReport",
    "RunReport",
    "build_failure_message",
    "build_run_message",
    "flush_outbox",
    "notify",
    "route_run",
    "task_failure_callback",
]
