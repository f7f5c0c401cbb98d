"""Where this deployment's two docs sites are, as files and as the links people follow.

Above ``dbt_runner`` and ``validation`` (it asks them for their roots), so
it is not re-exported by the package's ``__init__``, which they import:
import it as ``voice_compliance.docs_site.links``.
"""

from __future__ import annotations

from pathlib import Path

from voice_compliance.config import Settings


def docs_paths(settings: Settings) -> tuple[Path, Path]:
    """``(dbt docs index, Data Docs index)``: the files, whether or not built yet."""
    from voice_compliance import dbt_runner
    from voice_compliance.validation.run import data_docs_index

    return dbt_runner.docs_index(settings), data_docs_index(settings)


def docs_links(settings: Settings) -> tuple[str, str]:
    """``(dbt docs, Data Docs)`` links: the published URLs when configured
    (``settings.docs``: ``VC_DBT_DOCS_URL``, ``VC_DATA_DOCS_URL``), else ``file://``."""
    dbt_index, data_index = docs_paths(settings)
    dbt_docs = settings.docs.dbt_docs_url or dbt_index.resolve().as_uri()
    data_docs = settings.docs.data_docs_url or data_index.resolve().as_uri()
    return dbt_docs, data_docs
