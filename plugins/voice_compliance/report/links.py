"""Where a month's report is written and how tickets and Slack link to it.

Kept free of heavy imports (no altair, no Jinja2): ``alerting`` builds ticket
and Slack links from here on every validation run.
"""

from __future__ import annotations

import os
from pathlib import Path

from voice_compliance.config import Settings

REPORT_URL_ENV = "VC_REPORT_URL"
"""Base URL where the ``reports/`` folder is published (default: the local files)."""


def reports_dir(settings: Settings) -> Path:
    """``<data_dir>/reports``: one ``compliance-<YYYY-MM>.html`` per month."""
    return settings.data_dir / "reports"


def report_file_name(month: str) -> str:
    """``compliance-<YYYY-MM>.html``."""
    return f"compliance-{month}.html"


def report_path(settings: Settings, month: str) -> Path:
    """The report file of ``month`` (``YYYY-MM``)."""
    return reports_dir(settings) / report_file_name(month)


def report_link(settings: Settings, month: str | None, clause_id: str | None = None) -> str:
    """The link to ``month``'s report (``""`` without a month), optionally to one
    clause's section: ``$VC_REPORT_URL/compliance-<month>.html`` when the reports
    are published, else the local file's ``file://`` URI.

    The link is built whether or not the file exists yet: the validation DAG
    writes the report after it raised the tickets that link to it.
    """
    if not month:
        return ""
    base = os.environ.get(REPORT_URL_ENV, "").strip()
    name = report_file_name(month)
    url = f"{base.rstrip('/')}/{name}" if base else report_path(settings, month).resolve().as_uri()
    return f"{url}#clause-{clause_anchor(clause_id)}" if clause_id else url


def clause_anchor(clause_id: str) -> str:
    """The HTML id of a clause's section: ``dnc.registry`` -> ``dnc-registry``."""
    return clause_id.replace(".", "-").replace("_", "-")
