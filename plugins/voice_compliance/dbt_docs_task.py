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

When it does generate, it starts from the manifest ``dbt_build`` just wrote
(compiled SQL included): Cosmos copies that file into its temporary
project (``manifest_filepath``; copied again after Cosmos' partial-parse
cache, which brings its own manifest) and dbt runs with ``--no-compile
--no-write-json``, so it parses (from Cosmos' own partial-parse cache),
reads the warehouse's catalog and inlines the build's manifest, instead of
compiling every node again. The build's target folder is only read, so
each command keeps its own partial-parse state (decision 0025 says why that
matters). Without a build manifest it compiles, as before.

Imports Cosmos: import it when the DAG is built, never from the DAG file's top.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

from cosmos.operators.local import DbtDocsLocalOperator

from voice_compliance import dbt_runner
from voice_compliance.config import Settings
from voice_compliance.dag_support import settings_from_params

log = logging.getLogger(__name__)

REUSE_FLAGS: tuple[str, ...] = ("--no-compile", "--no-write-json")
"""``dbt docs generate`` flags when it inlines the build's manifest: no second
compile, and the build's manifest is not overwritten by a parse-only one."""


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
        self._start_from_the_build(settings)
        result = super().execute(context, **kwargs)
        if fingerprint is not None:
            dbt_runner.record_docs(settings, fingerprint)
        return result

    def _start_from_the_build(self, settings: Settings) -> None:
        """Reuse the build's compiled manifest instead of compiling again, when there is one."""
        manifest = dbt_runner.target_dir(settings) / "manifest.json"
        if not manifest.is_file():
            log.info("No build manifest at %s: dbt docs will compile the project", manifest)
            return
        self.manifest_filepath = str(manifest)
        self.dbt_cmd_flags = [
            *self.dbt_cmd_flags,
            *(flag for flag in REUSE_FLAGS if flag not in self.dbt_cmd_flags),
        ]

    def _handle_partial_parse(self, tmp_dir_path: Path) -> None:
        # Cosmos puts its cached partial parse in the temporary target folder
        # with the manifest cached beside it, over the one of manifest_filepath.
        super()._handle_partial_parse(tmp_dir_path)
        if self.manifest_filepath:
            target = tmp_dir_path / "target"
            target.mkdir(exist_ok=True)
            shutil.copyfile(self.manifest_filepath, target / "manifest.json")
