"""The GX Data Docs site: where it is written, its offline build, links into it.

GX renders the site under the project root (``<gx_root>/gx/uncommitted/
data_docs/local_site``) with links to public CDNs; :func:`build_data_docs`
renders it and makes it work offline (:mod:`.offline`) in one step, since
GX re-renders every page on each build.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from voice_compliance.docs_site.offline import make_offline

SITE_NAME = "local_site"
"""The Data Docs site GX writes (its name in the project config and its folder)."""
_MTIME_SLACK_S = 1.0


def data_docs_index(gx_root: Path) -> Path:
    """The Data Docs site's entry page under the GX project root."""
    return gx_root / "gx" / "uncommitted" / "data_docs" / SITE_NAME / "index.html"


def build_data_docs(context: Any, gx_root: Path, pages: Sequence[Any] = ()) -> Path:
    """Render the Data Docs of the GX ``context`` rooted at ``gx_root``, made to
    work offline; return its index page.

    ``pages``: GX resource identifiers (suites, validation results) to render,
    with the index; empty renders every page. GX writes its pages with CDN
    links, so the vendored assets are put back after every build: on the
    pages this build wrote, or on every page when it rendered them all.
    """
    # A second of slack for filesystems with coarse timestamps: rewriting a
    # page that is already offline changes nothing.
    started = time.time() - _MTIME_SLACK_S
    context.build_data_docs(resource_identifiers=list(pages) or None)
    index = data_docs_index(gx_root)
    make_offline(index.parent, since=started if pages else None)
    return index


def suite_page(suite: str) -> str:
    """A suite's page in the Data Docs, relative to its index:
    ``clause.dnc.registry`` -> ``expectations/clause/dnc/registry.html``."""
    return "expectations/" + suite.replace(".", "/") + ".html"


def site_page_url(data_docs_url: str, page: str) -> str:
    """``page`` (relative to the site's index) in the Data Docs whose index (or
    folder) is at ``data_docs_url`` (``""`` without a site)."""
    if not data_docs_url:
        return ""
    base = data_docs_url.split("#", 1)[0]
    base = base[: base.rfind("/") + 1] if base.endswith(".html") else base.rstrip("/") + "/"
    return base + page


def suite_url(data_docs_url: str, suite: str) -> str:
    """The page of ``suite`` in the Data Docs whose index (or folder) is at
    ``data_docs_url`` (``""`` without a site)."""
    return site_page_url(data_docs_url, suite_page(suite))
