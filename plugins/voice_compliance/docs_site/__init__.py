"""Publishing the two docs sites: the dbt docs and the GX Data Docs.

* :mod:`.dbt_docs` -- the files ``dbt docs generate --static`` writes, the
  site's index, keeping a generated site, links to a model's page;
* :mod:`.data_docs` -- where GX writes the Data Docs, building them offline,
  links to a suite's page;
* :mod:`.offline` -- ``make_offline``: GX's CDN assets replaced by the
  vendored copies in ``assets/``, so the site works from ``file://``;
* :mod:`.links` -- this deployment's sites as files and links (published URLs
  from ``settings.docs``). It sits above ``dbt_runner`` and ``validation``,
  which import this package, so it is imported on its own, not re-exported here.

Running dbt and GX stays with ``dbt_runner`` and ``validation``: they call
this package to put the sites in place.
"""

from __future__ import annotations

from voice_compliance.docs_site.data_docs import (
    build_data_docs,
    data_docs_index,
    suite_page,
    suite_url,
)
from voice_compliance.docs_site.dbt_docs import (
    DBT_DOCS_FILES,
    dbt_docs_index,
    docs_are_current,
    docs_fingerprint,
    keep_dbt_docs,
    model_url,
    record_docs_fingerprint,
)
from voice_compliance.docs_site.offline import make_offline

__all__ = [
    "DBT_DOCS_FILES",
    "build_data_docs",
    "data_docs_index",
    "dbt_docs_index",
    "docs_are_current",
    "docs_fingerprint",
    "keep_dbt_docs",
    "make_offline",
    "model_url",
    "record_docs_fingerprint",
    "suite_page",
    "suite_url",
]
