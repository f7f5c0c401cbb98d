"""The dbt docs site: which files make it, where its index is, links into it.

``dbt docs generate --static`` (run by ``dbt_runner.dbt_docs_generate``, or by
Cosmos in the transform DAG) writes the site into dbt's target folder;
:func:`keep_dbt_docs` copies a generated site from a temporary project copy
into this deployment's target folder, and :func:`dbt_docs_index` names the
self-contained page that links point at.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

log = logging.getLogger(__name__)

STATIC_INDEX = "static_index.html"
"""The self-contained page (manifest and catalog inlined): opens without a web server."""

DBT_DOCS_FILES: tuple[str, ...] = (STATIC_INDEX, "index.html", "catalog.json", "manifest.json")
"""What ``dbt docs generate --static`` writes and :func:`keep_dbt_docs` keeps;
``index.html`` and the two JSON files are what ``dbt docs serve`` needs."""


def dbt_docs_index(target_dir: Path) -> Path:
    """The docs site's entry page in dbt's target folder ``target_dir``."""
    return target_dir / STATIC_INDEX


def keep_dbt_docs(source_dir: Path, target_dir: Path) -> Path:
    """Copy the docs files dbt wrote in ``source_dir`` into ``target_dir``; the index.

    Raises ``FileNotFoundError`` naming what is missing when ``dbt docs
    generate`` did not write every file.
    """
    missing = [name for name in DBT_DOCS_FILES if not (source_dir / name).is_file()]
    if missing:
        raise FileNotFoundError(f"dbt docs generate wrote no {', '.join(missing)} in {source_dir}")
    target_dir.mkdir(parents=True, exist_ok=True)
    for name in DBT_DOCS_FILES:
        shutil.copyfile(source_dir / name, target_dir / name)
    log.info("dbt docs copied to %s", target_dir)
    return dbt_docs_index(target_dir)


def model_url(docs_url: str, model: str) -> str:
    """The page of ``model`` in the dbt docs site at ``docs_url`` (``""`` without a site)."""
    if not docs_url:
        return ""
    return f"{docs_url.split('#', 1)[0]}#!/model/model.voice_compliance.{model}"
