"""Where a month's report is written and how tickets and Slack link to it.

Kept free of heavy imports (no altair, no Jinja2): ``alerting`` builds ticket
and Slack links from here on every validation run.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from voice_compliance.config import Settings

REPORT_URL_ENV = "VC_REPORT_URL"
"""The variable of ``settings.docs.report_url``: the base URL where the
``reports/`` folder is published (default: the local files)."""


def reports_dir(settings: Settings) -> Path:
    """``<data_dir>/reports``: one ``compliance-<YYYY-MM>.html`` per month."""
    return settings.data_dir / "reports"


def report_file_name(month: str) -> str:
    """``compliance-<YYYY-MM>.html``."""
    return f"compliance-{month}.html"


def report_path(settings: Settings, month: str) -> Path:
    """The report file of ``month`` (``YYYY-MM``)."""
    return reports_dir(settings) / report_file_name(month)


def reports_base_url(settings: Settings) -> str:
    """Where the reports are, ending in ``/``: ``settings.docs.report_url``
    (``$VC_REPORT_URL``) when they are published, else the local folder's ``file://`` URI."""
    base = settings.docs.report_url
    if not base:
        base = reports_dir(settings).resolve().as_uri()
    return base.rstrip("/") + "/"


def month_report_url(base: str, month: str, clause_id: str | None = None) -> str:
    """``base`` + ``compliance-<month>.html``, at the clause's section when given
    (a data-quality check, ``dq.*``, at the tickets section)."""
    url = base.rstrip("/") + "/" + report_file_name(month)
    if not clause_id:
        return url
    return url + (
        "#tickets" if clause_id.startswith("dq.") else f"#clause-{clause_anchor(clause_id)}"
    )


def report_link(settings: Settings, month: str | None, clause_id: str | None = None) -> str:
    """The link to ``month``'s report (``""`` without a month), optionally at one
    clause's section.

    The link is built whether or not the file exists yet: the validation DAG
    writes the report beside the Slack message and after the tickets that link to it.
    """
    if not month:
        return ""
    return month_report_url(reports_base_url(settings), month, clause_id)


def clause_anchor(clause_id: str) -> str:
    """The HTML id of a clause's section: ``dnc.registry`` -> ``dnc-registry``."""
    return clause_id.replace(".", "-").replace("_", "-")


def validation_result_page(data_docs_dir: Path, suite: str, run_name: str) -> str | None:
    """The Data Docs page of ``suite``'s newest result in GX run ``run_name``,
    relative to the site's index and quoted as GX links it
    (``validations/clause/dnc/registry/<run name>/<run time>/<batch>.html``);
    ``None`` when the site holds no such page (not built here, or pruned).

    The run time in the path is GX's own (not stored in the warehouse), so the
    page is looked up in the site's folder instead of being guessed.
    """
    folder = data_docs_dir / "validations" / Path(*suite.split(".")) / run_name
    if not folder.is_dir():
        return None
    pages = sorted(folder.glob("*/*.html"), key=lambda page: (page.parent.name, page.name))
    if not pages:
        return None
    relative = pages[-1].relative_to(data_docs_dir)
    return "/".join(quote(part, safe="") for part in relative.parts)
