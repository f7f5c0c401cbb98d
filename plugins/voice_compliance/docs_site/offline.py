"""Make a built GX Data Docs site work offline, from ``file://``.

GX renders every Data Docs page with ``<script>``/``<link>``/``<img>`` tags
pointing at public CDNs (jQuery, Bootstrap, bootstrap-table, Font Awesome, …)
and at an S3 logo URL carrying a tracking query string. Without internet
access (the embedded default, air-gapped analytics hosts, CI) the index page
then shows an empty results table, because bootstrap-table never loads, and
no status icons. ``make_offline`` copies the vendored copies in
``assets/`` (see its ``LICENSES.md``) into ``<site>/static/vendor/`` and
points every page at them by a path relative to that page, since the pages
are opened from ``file://`` where an absolute ``/static`` would mean the
filesystem root.

URLs are recognised by the file they name, not by their exact text, so that
a GX upgrade moving e.g. bootstrap-table from 1.19.0 to 1.19.1, or to another
CDN, still maps; query strings are ignored. A URL that names a different
*major* version than the vendored one is left alone (and reported), as the
vendored file would not be a drop-in replacement for it.

Run it after every ``build_data_docs``: GX re-renders the pages each time.
"""

from __future__ import annotations

import logging
import posixpath
import re
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from voice_compliance import atomic_files

log = logging.getLogger(__name__)

ASSETS_DIR = Path(__file__).with_name("assets")
"""The vendored files, laid out as they are copied under ``VENDOR_DIR``."""
VENDOR_DIR = "static/vendor"
"""Where the vendored files go, relative to the site's root."""
LOGO = "static/images/logo-long.png"
"""GX's own copy of its logo, which it ships in every site's ``static/``."""


@dataclass(frozen=True)
class _Asset:
    """A CDN resource GX loads, and what replaces it offline."""

    pattern: re.Pattern[str]
    """Searched in the URL's lowercased ``host + path`` (no scheme, no query)."""
    target: str | None
    """The replacement, relative to the site's root; ``None`` drops the tag."""
    major: int | None = None
    """Major version of the vendored file; a URL naming another is not mapped."""


def _vendored(pattern: str, file: str, major: int) -> _Asset:
    return _Asset(re.compile(pattern), f"{VENDOR_DIR}/{file}", major)


# Most specific first: the first match wins, and e.g. "bootstrap-table"
# would otherwise be taken for "bootstrap" by a looser pattern.
_ASSETS: tuple[_Asset, ...] = (
    # Vega renders charts, which none of our suites produce; the three
    # bundles weigh ~1 MB, so they are dropped rather than vendored.
    _Asset(re.compile(r"/vega(?:-lite|-embed)?(?:@[^/]*)?(?:/|$)"), None),
    _Asset(re.compile(r"^great-expectations-web-assets\..*/[^/]*logo[^/]*\.(?:png|svg)$"), LOGO),
    _vendored(r"/jquery(?:-\d[\w.]*?)?(?:\.min)?\.js$", "js/jquery.min.js", 3),
    _vendored(r"/popper(?:\.min)?\.js$", "js/popper.min.js", 1),
    _vendored(
        r"/bootstrap-table-filter-control(?:\.min)?\.js$",
        "js/bootstrap-table-filter-control.min.js",
        1,
    ),
    _vendored(
        r"/bootstrap-table-filter-control(?:\.min)?\.css$",
        "css/bootstrap-table-filter-control.min.css",
        1,
    ),
    _vendored(r"/bootstrap-table(?:\.min)?\.js$", "js/bootstrap-table.min.js", 1),
    _vendored(r"/bootstrap-table(?:\.min)?\.css$", "css/bootstrap-table.min.css", 1),
    _vendored(r"/bootstrap-datepicker(?:\.min)?\.js$", "js/bootstrap-datepicker.min.js", 1),
    _vendored(r"/bootstrap-datepicker(?:\.min)?\.css$", "css/bootstrap-datepicker.min.css", 1),
    _vendored(r"/bootstrap-prefers-dark(?:\.min)?\.css$", "css/bootstrap-prefers-dark.min.css", 1),
    _vendored(r"/bootstrap(?:\.min)?\.js$", "js/bootstrap.min.js", 4),
    _vendored(r"/bootstrap(?:\.min)?\.css$", "css/bootstrap.min.css", 4),
    _vendored(r"font-?awesome.*/all(?:\.min)?\.css$", "css/fontawesome-all.min.css", 6),
)

# Where CDNs put the version: npm-style "pkg@1.19.1/" (unpkg, jsdelivr),
# a "/4.3.1/" path segment (cdnjs, stackpath), or "jquery-3.7.1.min.js".
_VERSION = (
    re.compile(r"@v?(\d+)(?:\.\d+)*(?:/|$)"),
    re.compile(r"/v?(\d+)\.\d+(?:\.\d+)*/"),
    re.compile(r"/jquery-(\d+)(?:\.\d+)*[./]"),
)

_EMPTY_SCRIPT = re.compile(r"[ \t]*<script\b[^>]*>\s*</script>[ \t]*(?:\r?\n)?", re.IGNORECASE)
"""A ``<script src=…></script>`` element, with its line's indent and newline."""
_OPEN_TAG = re.compile(r"<(script|link|img)\b[^>]*>", re.IGNORECASE)
_CSS_URL = re.compile(r"""url\(\s*(['"]?)((?:https?:)?//[^'")\s]+)\1\s*\)""", re.IGNORECASE)
_SRI_ATTRS = re.compile(
    r"""\s+(?:integrity|crossorigin)(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'>]+))?(?=[\s/>])""",
    re.IGNORECASE,
)
_REL_STYLESHEET = re.compile(r"""\brel\s*=\s*["']?[^"'>]*\bstylesheet\b""", re.IGNORECASE)


def _attr(name: str) -> re.Pattern[str]:
    # Not preceded by "-": ``data-src`` is no ``src``.
    return re.compile(
        rf"""((?<![\w-]){name}\s*=\s*)(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.IGNORECASE
    )


_SRC = _attr("src")
_HREF = _attr("href")


def _is_external(url: str) -> bool:
    return url.lower().startswith(("http://", "https://", "//"))


def _major(path: str) -> int | None:
    for pattern in _VERSION:
        if found := pattern.search(path):
            return int(found.group(1))
    return None


def _classify(url: str) -> _Asset | None:
    """The known asset ``url`` loads, or ``None``."""
    parts = urlsplit(url if "://" in url else f"https:{url}")
    where = (parts.netloc + parts.path).lower()
    for asset in _ASSETS:
        if asset.pattern.search(where):
            major = _major(parts.path)
            if asset.major is not None and major is not None and major != asset.major:
                return None
            return asset
    return None


FAVICON = "static/images/favicon.ico"
_FAVICON = re.compile(r"""(<link\b[^>]*\bhref=")(?:\.\.?/)*static/images/favicon\.ico(")""")
"""GX writes a validation page's favicon link one folder short (a 404 in the
console of every result page): it is pointed at the site's own file."""
_NEWSLETTER = re.compile(
    r"[ \t]*<footer>\s*<p>[^<]*newsletter\s*<a\b[^>]*>[^<]*</a>\s*</p>\s*</footer>[ \t]*\r?\n?",
    re.IGNORECASE,
)
"""GX's "Subscribe to our newsletter" footer: a tracked link out of an offline compliance site."""
_NO_DATA_ASSET = re.compile(r"\s*Data asset: None<br>")
"""A result page's "Data asset: None" (the frames are validated in memory): no information."""


class _Page:
    """Rewrites one page's external resource URLs to paths relative to it."""

    def __init__(self, page_dir: str) -> None:
        self.page_dir = page_dir
        """The page's folder relative to the site's root, POSIX style ("." at the root)."""
        self.unknown: set[str] = set()
        """The page's external scripts and stylesheets that no known asset matches."""

    def relative(self, target: str) -> str:
        """``target`` (relative to the site's root) as seen from this page."""
        return posixpath.relpath(target, self.page_dir)

    def rewrite(self, html: str) -> str:
        html = _EMPTY_SCRIPT.sub(self._drop_script, html)
        html = _OPEN_TAG.sub(self._tag, html)
        html = _CSS_URL.sub(self._css_url, html)
        html = _FAVICON.sub(lambda m: f"{m.group(1)}{self.relative(FAVICON)}{m.group(2)}", html)
        html = _NEWSLETTER.sub("", html)
        return _NO_DATA_ASSET.sub("", html)

    def _drop_script(self, match: re.Match[str]) -> str:
        url = _value(_SRC, match.group(0))
        if url is not None and _is_external(url):
            asset = _classify(url)
            if asset is not None and asset.target is None:
                return ""
        return match.group(0)

    def _tag(self, match: re.Match[str]) -> str:
        tag = match.group(0)
        name = match.group(1).lower()
        attr = _HREF if name == "link" else _SRC
        url = _value(attr, tag)
        if url is None or not _is_external(url):
            return tag
        asset = _classify(url)
        if asset is None or asset.target is None:
            if name == "script" or (name == "link" and _REL_STYLESHEET.search(tag)):
                self.unknown.add(url)
            return tag
        local = self.relative(asset.target)
        tag = attr.sub(lambda m: f'{m.group(1)}"{local}"', tag, count=1)
        # Subresource integrity needs a CORS fetch, which a page opened from
        # file:// (origin "null") cannot make: the tag would load nothing.
        return _SRI_ATTRS.sub("", tag)

    def _css_url(self, match: re.Match[str]) -> str:
        asset = _classify(match.group(2))
        if asset is None or asset.target is None:
            return match.group(0)
        return f"url('{self.relative(asset.target)}')"


def _value(attr: re.Pattern[str], tag: str) -> str | None:
    found = attr.search(tag)
    if found is None:
        return None
    return next(group for group in found.groups()[1:] if group is not None)


def _copy_assets(site_dir: Path) -> None:
    """Copy ``assets`` under the site, writing only files that differ."""
    vendor = site_dir / VENDOR_DIR
    for source in sorted(ASSETS_DIR.rglob("*")):
        if not source.is_file():
            continue
        dest = vendor / source.relative_to(ASSETS_DIR)
        if dest.is_file() and dest.read_bytes() == source.read_bytes():
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, dest)


def make_offline(site_dir: Path, *, since: float | None = None) -> int:
    """Point the Data Docs site under ``site_dir`` at vendored copies of its CDN assets.

    Copies ``assets`` into ``site_dir/static/vendor/``, then rewrites
    every ``.html`` under ``site_dir``: each known CDN script, stylesheet or
    logo URL becomes a path relative to that page (its ``integrity`` and
    ``crossorigin`` attributes removed), the Vega ``<script>`` tags are
    dropped, and the S3 logo URLs point at the site's own
    ``static/images/logo-long.png``. Unknown external scripts and stylesheets
    are left as they are and logged once each as a warning.

    ``since`` (a POSIX time): only the pages written at or after it, i.e.
    those a build that started then rendered; the others were made offline
    when they were written. Without it, every page: a site keeps every day's
    validation pages, and reading them all on each run would make each
    daily run slower than the one before.

    Idempotent: a second run finds nothing to change. Returns the number of
    pages rewritten.
    """
    if not site_dir.is_dir():
        raise FileNotFoundError(f"no Data Docs site at {site_dir}")
    _copy_assets(site_dir)
    if not (site_dir / LOGO).is_file():
        log.warning("Data Docs site %s has no %s: the logo will not show", site_dir, LOGO)
    unknown: Counter[str] = Counter()
    rewritten = 0
    for path in sorted(site_dir.rglob("*.html")):
        relative = path.relative_to(site_dir)
        if relative.parts[: len(Path(VENDOR_DIR).parts)] == Path(VENDOR_DIR).parts:
            continue
        if since is not None and path.stat().st_mtime < since:
            continue
        raw = path.read_bytes()
        # Bytes in and out (not read_text) so line endings stay exactly as GX wrote them.
        html = raw.decode("utf-8")
        page = _Page(relative.parent.as_posix())
        new = page.rewrite(html).encode("utf-8")
        unknown.update(page.unknown)
        if new != raw:
            atomic_files.write_bytes(path, new)
            rewritten += 1
    for url, pages in sorted(unknown.items()):
        log.warning(
            "Data Docs: %s is not vendored; %d page(s) still load it from the network",
            url,
            pages,
        )
    log.info("Data Docs at %s made offline: %d page(s) rewritten", site_dir, rewritten)
    return rewritten
