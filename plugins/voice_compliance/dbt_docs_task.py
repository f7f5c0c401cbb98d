"""``vc_transform``'s docs task: Cosmos' ``dbt docs generate``, only when the site would change.

The docs site shows the project (sources, docs, macros, compiled SQL), the
policy vars and the warehouse's relations and columns; on DuckDB the
catalog has no row counts. A daily run that only adds data changes none of
them, so regenerating the site (compiling every node again, about 10 s at
any size) would write the same page. :class:`DbtDocsWhenChangedOperator`
compares the fingerprint of the build's manifest, the policy and the
warehouse's columns (``dbt_runner.docs_fingerprint``) with the one recorded
next to the site; when they match it keeps the site and succeeds (so the
task still updates its Asset), else it runs Cosmos' operator and records the
new fingerprint. ``full_refresh`` always regenerates. Decision 0026.

Imports Cosmos: import it when the DAG is built, never from the DAG file's top.
"""

from __future__ import annotations

import logging
from typing import Any

from cosmos.operators.local import DbtDocsLocalOperator

from voice_compliance import dbt_runner
from voice_compliance.dag_support import settings_from_params

log = logging.getLogger(__name__)


class DbtDocsWhenChangedOperator(DbtDocsLocalOperator):  # type: ignore[misc]
    """``DbtDocsLocalOperator`` that keeps the current site when nothing it shows changed."""

    def execute(self, context: Any, **kwargs: Any) -> Any:
        params = context.get("params") or {}
        settings = settings_from_params(params)
        fingerprint = dbt_runner.docs_fingerprint(settings)
        if not params.get("full_refresh") and dbt_runner.docs_are_current(settings, fingerprint):
            log.info(
                "dbt docs unchanged (same project, policy and columns): kept %s",
                dbt_runner.docs_index(settings),
            )
            return None
        result = super().execute(context, **kwargs)
        if fingerprint is not None:
            dbt_runner.record_docs(settings, fingerprint)
        return result
