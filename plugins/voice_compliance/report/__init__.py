"""The monthly compliance report: one self-contained HTML file per month.

Built from the marts (``compliance.clause_summary``, ``clause_outcomes``,
``policy_violations``, ``metrics.metric_registry_coverage``) and the
``compliance.tickets`` table, for compliance officers: violations per clause
and severity with their trend, the numbers and accounts with the most
violations, the complaint-rate and unanswered-share distributions against
their thresholds, registry coverage and freshness, open and resolved
tickets, and every clause's policy sentence, threshold in force and links to
its dbt docs and its suite in the Data Docs.

* :mod:`.data` -- what one month's report says, read from the warehouse.
* :mod:`.clauses` -- the policy sentence of each clause (the dbt docs blocks).
* :mod:`.charts` -- Vega-Lite charts (altair) rendered to static SVG.
* :mod:`.build` -- render (Jinja2) and write ``<data_dir>/reports/compliance-<YYYY-MM>.html``.
* :mod:`.links` -- where a month's report is (file or ``VC_REPORT_URL``); light to import.

Phone numbers are masked to their last four digits everywhere in the file.
"""

from voice_compliance.report.links import (
    REPORT_URL_ENV,
    month_report_url,
    report_link,
    report_path,
    reports_base_url,
    reports_dir,
)

__all__ = [
    "REPORT_URL_ENV",
    "month_report_url",
    "report_link",
    "report_path",
    "reports_base_url",
    "reports_dir",
]
