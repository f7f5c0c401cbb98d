"""Great Expectations, file-backed under ``<data_dir>/gx``: suites, checkpoints, Data Docs.

Every suite of the catalog becomes a GX ``ExpectationSuite`` (re-registered
on each run, so an edit of ``policy.yml`` or ``expectations/`` takes effect
at once), bound to a pandas dataframe asset of the same name through a
``ValidationDefinition`` and a ``Checkpoint`` whose result format names the
failing rows by the suite's key columns. Validation results accumulate in
the project's store for ``VC_HISTORY_DAYS`` (``prune_results``);
``build_docs`` renders the Data Docs site from them
(``voice_compliance.docs_site``, which also makes it work offline).

GX is imported here and only here, inside the functions that use it: it
takes seconds (about 2 s here with compiled bytecode, far more without),
which neither the DAG processor nor ``--help`` should pay.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from voice_compliance import retention
from voice_compliance.docs_site import build_data_docs
from voice_compliance.docs_site.data_docs import SITE_NAME, data_docs_index
from voice_compliance.utc import as_utc
from voice_compliance.validation.results import ExpectationOutcome
from voice_compliance.validation.spec import ExpectationSpec, SuiteSpec

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

DATASOURCE = "voice_compliance"
GX_LOGGER = "great_expectations"
"""The logger GX's modules log under (their names start with it)."""
BATCH_DEFINITION = "whole_frame"
MAX_KEYS_STORED = 200
"""Failing rows kept per expectation result (the ticketing ones keep all)."""
INDEX_RESULTS_LIMIT = 1000
"""Validation results the Data Docs index lists, newest first.

GX reads every result it lists from the store to build the index: without a
limit, each daily run would take longer than the one before. Older results
keep their pages and stay in the store until ``VC_HISTORY_DAYS`` removes them;
the findings are in the warehouse."""


def jsonable(value: Any) -> Any:
    """``value`` with numpy scalars, NaN, dates and timestamps made JSON-friendly."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if type(value).__name__ in {"NAType", "NaTType"}:  # pandas' missing values
        return None
    if hasattr(value, "item") and callable(value.item):  # numpy scalar
        value = value.item()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def import_gx() -> Any:
    """Import GX (the module), without its analytics and its INFO bookkeeping.

    GX logs its own bookkeeping at INFO: its API registry, each config
    substitution it skips, each save of the datasource file. That is some
    740 lines in one validation run, a third of a daily pipeline's log,
    around the lines a reader wants. Its warnings and errors stay.
    """
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    logging.getLogger(GX_LOGGER).setLevel(logging.WARNING)
    import great_expectations as gx

    return gx


BACKGROUND_IMPORT_WAIT_S = 60.0
"""How long a caller waits for ``import_gx_in_background`` before it exits."""


def import_gx_in_background() -> threading.Thread:
    """Start importing GX in a daemon thread (decision 0035).

    For a process that validates later and has time to spare now: the
    embedded runner runs every DAG of a run in one process, and while
    ``vc_transform`` waits for dbt (a child process) the import costs no
    wall time; validation then finds GX imported (about 1.8 s sooner). A
    failure here is only logged: the import that validation makes raises it
    where it belongs.
    """

    def run() -> None:
        try:
            import_gx()
        except Exception as exc:  # validation's own import reports it
            log.debug("GX import in the background failed: %r", exc)

    thread = threading.Thread(target=run, name="vc-import-gx", daemon=True)
    thread.start()
    return thread


class GxProject:
    """A file-backed GX context with the catalog's suites registered in it."""

    def __init__(self, root: Path) -> None:
        gx = import_gx()

        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self._gx = gx
        self.context = gx.get_context(mode="file", project_root_dir=str(root))
        if self.context.variables.config_variables_file_path:
            # The project keeps no config variables (secrets come from the
            # environment), but with a variables file declared GX re-reads
            # and parses it on every setting it looks up: about 1,400 YAML
            # loads, 4-5 s, per validation run. Declared once, then never.
            self.context.variables.config_variables_file_path = None
            self.context.variables.save()
            self.context = gx.get_context(mode="file", project_root_dir=str(root))
        self.context.variables.progress_bars = {"globally": False}
        self._limit_index()
        self.datasource = self._datasource()
        self._checkpoints: dict[str, Any] = {}
        # The Data Docs pages this project (re)wrote: its suites and the
        # validation results of its runs (``build_docs``).
        self._pages: list[Any] = []

    def _datasource(self) -> Any:
        """The project's pandas datasource, made on first use and kept after.

        ``add_or_update_pandas`` would replace it with an empty one on every
        run, and each of its 20 assets and batch definitions added again
        saves the project file: some 40 writes, 1-1.5 s a validation run."""
        try:
            existing = self.context.data_sources.get(DATASOURCE)
        except (KeyError, LookupError, ValueError):
            existing = None
        if existing is not None and getattr(existing, "type", None) == "pandas":
            return existing
        return self.context.data_sources.add_or_update_pandas(DATASOURCE)

    def _limit_index(self) -> None:
        """The Data Docs index lists the newest ``INDEX_RESULTS_LIMIT`` results, and
        no page shows GX's "how to" buttons, which covered rows of the index's
        results table (saved once)."""
        sites = dict(self.context.variables.data_docs_sites or {})
        site = dict(sites.get(SITE_NAME) or {})
        if not site:
            return
        builder = dict(site.get("site_index_builder") or {"class_name": "DefaultSiteIndexBuilder"})
        if (
            builder.get("validation_results_limit") == INDEX_RESULTS_LIMIT
            and site.get("show_how_to_buttons") is False
        ):
            return
        builder["validation_results_limit"] = INDEX_RESULTS_LIMIT
        # The site passes it to its index and page builders.
        sites[SITE_NAME] = {**site, "show_how_to_buttons": False, "site_index_builder": builder}
        self.context.variables.data_docs_sites = sites
        self.context.variables.save()

    def register(self, suite: SuiteSpec) -> None:
        """Create or update the GX suite, asset, validation definition and checkpoint."""
        import great_expectations.expectations as gxe

        gx = self._gx
        asset = self._asset(suite.name)
        try:
            batch = asset.get_batch_definition(BATCH_DEFINITION)
        except (KeyError, LookupError, ValueError):
            batch = asset.add_batch_definition_whole_dataframe(BATCH_DEFINITION)
        gx_suite = gx.ExpectationSuite(
            name=suite.name,
            meta={
                "kind": suite.kind,
                "clause_id": suite.clause_id,
                "description": suite.description,
                **dict(suite.meta),
            },
        )
        for spec in suite.expectations:
            expectation_class = getattr(gxe, spec.type)
            gx_suite.add_expectation(
                expectation_class(
                    **dict(spec.kwargs),
                    meta={
                        **dict(spec.meta),
                        "expectation_id": spec.expectation_id,
                        "ticketing": spec.ticketing,
                    },
                    description=spec.description,
                )
            )
        gx_suite = self.context.suites.add_or_update(gx_suite)
        from great_expectations.data_context.types.resource_identifiers import (
            ExpectationSuiteIdentifier,
        )

        self._pages.append(ExpectationSuiteIdentifier(name=suite.name))
        definition = self.context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=suite.name, data=batch, suite=gx_suite)
        )
        result_format: dict[str, Any] = {"result_format": "COMPLETE"}
        if suite.key_columns:
            result_format["unexpected_index_column_names"] = list(suite.key_columns)
        self._checkpoints[suite.name] = self.context.checkpoints.add_or_update(
            gx.Checkpoint(
                name=suite.name,
                validation_definitions=[definition],
                actions=[],
                result_format=result_format,
            )
        )

    def _asset(self, name: str) -> Any:
        try:
            return self.datasource.get_asset(name)
        except (KeyError, LookupError, ValueError):
            return self.datasource.add_dataframe_asset(name)

    def run(
        self, suite: SuiteSpec, frame: pd.DataFrame, *, run_name: str, month: str | None
    ) -> list[ExpectationOutcome]:
        """Validate ``frame`` against a registered ``suite``: one outcome per expectation."""
        checkpoint = self._checkpoints[suite.name]
        run_id = self._gx.RunIdentifier(run_name=run_name, run_time=datetime.now(UTC))
        result = checkpoint.run(batch_parameters={"dataframe": frame}, run_id=run_id)
        self._pages.extend(result.run_results)
        by_id = {spec.expectation_id: spec for spec in suite.expectations}
        outcomes = []
        for suite_result in result.run_results.values():
            for item in suite_result.results:
                meta = item.expectation_config.meta or {}
                spec = by_id[meta["expectation_id"]]
                outcomes.append(self._outcome(suite, spec, month, item))
        return outcomes

    @staticmethod
    def _outcome(
        suite: SuiteSpec, spec: ExpectationSpec, month: str | None, item: Any
    ) -> ExpectationOutcome:
        details = item.result or {}
        exception = None
        info = item.exception_info or {}
        if info.get("raised_exception"):
            exception = str(info.get("exception_message") or "expectation raised")
        keys = details.get("unexpected_index_list") or []
        keys = [k for k in keys if isinstance(k, Mapping)]
        if not spec.ticketing:
            keys = keys[:MAX_KEYS_STORED]
        return ExpectationOutcome(
            suite=suite,
            spec=spec,
            month=month,
            success=bool(item.success),
            element_count=jsonable(details.get("element_count")),
            unexpected_count=jsonable(details.get("unexpected_count")),
            observed_value=jsonable(details.get("observed_value")),
            unexpected_keys=jsonable(keys),
            exception=exception,
        )

    def prune_results(self, before: datetime) -> int:
        """Remove the stored validation results validated before ``before``, and
        their Data Docs pages; return how many results went.

        The results of this project's own runs are kept whatever their time.
        The next ``build_docs`` writes an index without them.
        """
        store = self.context.validation_results_store
        mine = {key.to_tuple() for key in self._pages if hasattr(key, "run_id")}
        old = [
            key
            for key in store.list_keys()
            # GX's run times are UTC, with or without a zone
            if key.run_id.run_time is not None
            and as_utc(key.run_id.run_time) < before
            and key.to_tuple() not in mine
        ]
        if not old:
            return 0
        # A filesystem store says where it keeps the results: the folders
        # its removals leave empty go too. Any other store cleans up itself.
        base = getattr(store.store_backend, "full_base_directory", None)
        results_dir = Path(base) if base else None
        pages_dir = data_docs_index(self.root).parent / "validations"
        folders, pages = [], []
        for key in old:
            store.remove_key(key)
            *folder, name = key.to_tuple()
            if results_dir is not None:
                folders.append(results_dir.joinpath(*folder))
            pages.append(pages_dir.joinpath(*folder, f"{name}.html"))
        retention.remove_files(pages, pages_dir)
        if results_dir is not None:
            retention.remove_empty_folders(folders, results_dir)
        log.info("Removed %d validation result(s) from before %s", len(old), before.date())
        return len(old)

    def build_docs(self) -> Path:
        """Render this project's new Data Docs pages and the index, offline; return the index.

        Only the suites registered and the results validated here are
        rendered: the pages of earlier runs' results do not change, and
        re-rendering every stored result would make each validation run
        slower than the last (48 result pages a run at three months).
        """
        return build_data_docs(self.context, self.root, self._pages)
