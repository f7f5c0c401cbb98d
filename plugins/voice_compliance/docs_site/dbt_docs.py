"""The dbt docs site: which files make it, where its index is, links into it.

``dbt docs generate --static`` (run by ``dbt_runner.dbt_docs_generate``, or by
Cosmos in the transform DAG) writes the site into this deployment's dbt
target folder; :func:`check_dbt_docs` checks that it wrote every file, and
:func:`dbt_docs_index` names the self-contained page that links point at.
"""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)

STATIC_INDEX = "static_index.html"
"""The self-contained page (manifest and catalog inlined): opens without a web server."""

DBT_DOCS_FILES: tuple[str, ...] = (STATIC_INDEX, "index.html", "catalog.json", "manifest.json")
"""What ``dbt docs generate --static`` writes (:func:`check_dbt_docs` checks them);
``index.html`` and the two JSON files are what ``dbt docs serve`` needs."""


def dbt_docs_index(target_dir: Path) -> Path:
    """The docs site's entry page in dbt's target folder ``target_dir``."""
    return target_dir / STATIC_INDEX


def check_dbt_docs(target_dir: Path) -> Path:
    """The docs site's index in ``target_dir``, once every docs file is there.

    Raises ``FileNotFoundError`` naming what is missing when ``dbt docs
    generate`` did not write every file.
    """
    missing = [name for name in DBT_DOCS_FILES if not (target_dir / name).is_file()]
    if missing:
        raise FileNotFoundError(f"dbt docs generate wrote no {', '.join(missing)} in {target_dir}")
    return dbt_docs_index(target_dir)


def model_url(docs_url: str, model: str) -> str:
    """The page of ``model`` in the dbt docs site at ``docs_url`` (``""`` without a site)."""
    if not docs_url:
        return ""
    return f"{docs_url.split('#', 1)[0]}#!/model/model.voice_compliance.{model}"
