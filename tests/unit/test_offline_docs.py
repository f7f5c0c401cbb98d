"""Unit tests for ``docs_site.offline.make_offline`` on small synthetic Data Docs pages."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import pytest

from voice_compliance.docs_site import offline as offline_docs
from voice_compliance.docs_site.offline import ASSETS_DIR, LOGO, VENDOR_DIR, make_offline

pytestmark = pytest.mark.quick

UNKNOWN_SCRIPT = "https://cdn.example.com/some-widget@2/widget.min.js"
# A major version we do not vendor: mapping it to Bootstrap 4 would break the page.
OTHER_MAJOR = "https://cdn.jsdelivr.net/npm/bootstrap@5.3.3/dist/css/bootstrap.min.css"
DOCS_LINK = "https://docs.greatexpectations.io/docs/guides/validation/checkpoints/x"

UNPKG = "https://unpkg.com/bootstrap-table"
CDNJS = "https://cdnjs.cloudflare.com/ajax/libs"
JSDELIVR = "https://cdn.jsdelivr.net/npm"
S3 = "https://great-expectations-web-assets.s3.us-east-2.amazonaws.com"
POPPER_SRI = "sha384-ApNbgh9B+Y1QKtv3Rn7W3mgPxhU9K/ScQsAP7hUibX39j7fakFPskvXusvfa0b4Q"
BOOTSTRAP_SRI = "sha384-JjSmVgyd0p3pXB1rRibZUAYoIIy6OrQ6VrjIEaFf/nJGzIxFDsf4x0xIM+B07jRM"

# The head GX 1.24 renders (trimmed), with one URL per known pattern, the
# filter-control CSS at 1.19.0 vs the rest at 1.19.1 as GX has it, a
# tracking query string on the logo, SRI on two scripts, and some things
# that must be left alone.
PAGE = f"""<!DOCTYPE html>
<html>
  <head>
    <link rel="stylesheet" href="{UNPKG}@1.19.1/dist/bootstrap-table.min.css">
    <link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css"/>
    <link rel="stylesheet" type="text/css" \
href="{UNPKG}@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css">
    <link rel="stylesheet" type="text/css" \
href="{CDNJS}/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css">
    <link rel="stylesheet" \
href="{JSDELIVR}/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css" />
    <link rel="stylesheet" href="{OTHER_MAJOR}">
    <style>
  .navbar-brand a {{
    background: url('{S3}/full_logo_dark.png') 0 0 no-repeat;
  }}
    </style>
<script src="{JSDELIVR}/vega@5"></script>
<script src="{JSDELIVR}/vega-lite@5"></script>
  <script src="{JSDELIVR}/vega-embed@6"></script>
<link rel="stylesheet" href="{CDNJS}/font-awesome/6.6.0/css/all.min.css">
<script src="https://code.jquery.com/jquery-3.7.1.min.js"></script>
<script src="{CDNJS}/popper.js/1.12.9/umd/popper.min.js" integrity="{POPPER_SRI}" \
crossorigin="anonymous"></script>
<script src="https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js" \
integrity="{BOOTSTRAP_SRI}" crossorigin="anonymous"></script>
<script src="{UNPKG}@1.19.1/dist/bootstrap-table.min.js"></script>
<script src="{UNPKG}@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js">\
</script>
<script src="{CDNJS}/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js"></script>
<script src="{UNKNOWN_SCRIPT}"></script>
<script>
  $(function () {{ console.log("vega@5 is only a string here"); }});
</script>
<link rel="shortcut icon" href="{{favicon}}" type="image/x-icon"/>
  </head>
  <body>
        <a href="#">
          <img
            class="NO-CACHE"
            src="{S3}/logo-long.png?d=20261129T201324.956703Z&dataContextId=fe8cd8d2"
            alt="Great Expectations"
          />
        </a>
        <a href="{DOCS_LINK}" class="btn btn-primary m-2">How to Validate Data</a>
  </body>
</html>
"""

_RESOURCE = re.compile(
    r"""<(?:script|link|img)\b[^>]*?\b(?:src|href)\s*=\s*"([^"]*)"|url\('([^']*)'\)""",
    re.IGNORECASE,
)


def _site(root: Path) -> tuple[Path, Path]:
    """A site with a page at depth 0 and one at depth 3, as GX lays them out."""
    site = root / "local_site"
    logo = site / LOGO
    logo.parent.mkdir(parents=True)
    logo.write_bytes(b"\x89PNG fake")
    (logo.parent / "favicon.ico").write_bytes(b"fake icon")
    index = site / "index.html"
    index.write_text(PAGE.replace("{favicon}", "./static/images/favicon.ico"), encoding="utf-8")
    deep = site / "validations" / "dq.calls" / "manual__2026-11-29T20:13:10+00:00 2026-10"
    deep.mkdir(parents=True)
    page = deep / "voice_compliance-dq.calls.html"
    page.write_text(PAGE.replace("{favicon}", "../../../static/images/favicon.ico"), "utf-8")
    return site, page


def _snapshot(site: Path) -> dict[Path, tuple[bytes, int]]:
    return {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in site.rglob("*") if p.is_file()}


def test_pages_at_depth_0_and_3_point_at_existing_vendored_files(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    site, deep = _site(tmp_path)
    caplog.set_level(logging.WARNING, logger=offline_docs.__name__)

    assert make_offline(site) == 2

    for page, prefix in ((site / "index.html", ""), (deep, "../../../")):
        html = page.read_text(encoding="utf-8")
        local = [a or b for a, b in _RESOURCE.findall(html)]
        local = [url for url in local if url not in {UNKNOWN_SCRIPT, OTHER_MAJOR}]
        assert len(local) == 15  # 12 CDN assets, 2 logos, the favicon; no vega
        for url in local:
            assert not url.startswith(("http:", "https:", "//", "/")), url
            assert (page.parent / url).resolve().is_file(), f"{page.name}: {url}"
            if "favicon" not in url:
                assert url.startswith(prefix + "static/"), url
        # Vega is dropped, tag and line; a mere mention in inline JS is not a tag.
        assert "cdn.jsdelivr.net/npm/vega" not in html
        assert 'console.log("vega@5 is only a string here")' in html
        # The logo: the site's own copy, no tracking query.
        assert f'src="{prefix}{LOGO}"' in html
        assert f"url('{prefix}{LOGO}')" in html
        assert "great-expectations-web-assets" not in html
        # SRI would make Chromium refuse a file:// script (a CORS fetch from origin null).
        assert "integrity=" not in html
        assert "crossorigin" not in html
        # Left alone: unknown or incompatible resources, and plain links.
        assert f'<script src="{UNKNOWN_SCRIPT}"></script>' in html
        assert f'href="{OTHER_MAJOR}"' in html
        assert f'href="{DOCS_LINK}"' in html
    assert 'href="static/vendor/css/bootstrap-table-filter-control.min.css"' in (
        site / "index.html"
    ).read_text(encoding="utf-8")

    # Each unknown URL is reported once, not once per page.
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 2
    assert sum(UNKNOWN_SCRIPT in message for message in warned) == 1
    assert any(UNKNOWN_SCRIPT in message and "2 page(s)" in message for message in warned)
    assert sum(OTHER_MAJOR in message for message in warned) == 1


def test_font_awesome_css_finds_its_woff2_fonts(tmp_path: Path) -> None:
    site, _ = _site(tmp_path)
    make_offline(site)
    css_path = site / VENDOR_DIR / "css" / "fontawesome-all.min.css"
    fonts = set(re.findall(r"url\((\.\./webfonts/[^)]+\.woff2)\)", css_path.read_text("utf-8")))
    assert len(fonts) == 4
    for font in fonts:
        assert (css_path.parent / font).resolve().is_file(), font


def test_second_run_changes_nothing(tmp_path: Path) -> None:
    site, _ = _site(tmp_path)
    assert make_offline(site) == 2
    before = _snapshot(site)
    assert make_offline(site) == 0
    assert _snapshot(site) == before


def test_since_rewrites_only_the_pages_written_by_this_build(tmp_path: Path) -> None:
    # A daily run renders its own validation pages and the index; the pages of
    # earlier days were made offline when they were written and are not read again.
    site, old_page = _site(tmp_path)
    os.utime(old_page, (1_000_000_000, 1_000_000_000))
    before = old_page.read_bytes()

    assert make_offline(site, since=1_000_000_001) == 1

    assert old_page.read_bytes() == before
    assert "cdnjs.cloudflare.com" not in (site / "index.html").read_text(encoding="utf-8")
    # Without since (a build that rendered every page), every page.
    assert make_offline(site) == 1
    assert "cdnjs.cloudflare.com" not in old_page.read_text(encoding="utf-8")


def test_crlf_pages_keep_their_line_endings(tmp_path: Path) -> None:
    site, _ = _site(tmp_path)
    index = site / "index.html"
    index.write_bytes(index.read_bytes().replace(b"\n", b"\r\n"))
    make_offline(site)
    data = index.read_bytes()
    assert b"vega" not in data.replace(b"vega@5 is only", b"")
    assert data.count(b"\n") == data.count(b"\r\n")


def test_missing_site_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        make_offline(tmp_path / "nope")


def test_vendored_assets_are_small_and_all_listed_in_licenses() -> None:
    files = [p for p in ASSETS_DIR.rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) < 1_500_000
    licenses = (ASSETS_DIR / "LICENSES.md").read_text(encoding="utf-8")
    for path in files:
        if path.name != "LICENSES.md":
            assert f"`{path.relative_to(ASSETS_DIR).as_posix()}`" in licenses, path
            assert ".min." in path.name or path.suffix == ".woff2", path
