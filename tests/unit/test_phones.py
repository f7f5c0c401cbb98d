"""Phone normalization: the reference, the metadata tables, the SQL paths."""

from __future__ import annotations

import random
import re
from pathlib import Path

import duckdb
import phonenumbers
import pytest

from voice_compliance.phones import (
    PhoneInfo,
    derived,
    install,
    metadata,
    normalize,
    normalize_relation,
    registry_e164_sql,
    tables,
    typetrie,
)
from voice_compliance.phones.patterns import box_matches, boxes
from voice_compliance.phones.vectorized import describe_routes

pytestmark = pytest.mark.quick

OUTPUT_COLUMNS = "e164, is_valid, country_code, region_code, number_type, time_zones"


def _as_row(info: PhoneInfo) -> tuple[object, ...]:
    return (
        info.e164,
        info.is_valid,
        info.country_code,
        info.region_code,
        info.number_type,
        list(info.time_zones),
    )


# -- reference ---------------------------------------------------------------


def test_reference_valid_numbers() -> None:
    info = normalize("(415) 555-2671", "US")
    assert info == PhoneInfo(
        raw="(415) 555-2671",
        default_region="US",
        e164="+14155552671",
        is_valid=True,
        country_code=1,
        region_code="US",
        number_type="FIXED_LINE_OR_MOBILE",
        time_zones=("America/Los_Angeles",),
    )
    uk = normalize("020 7946 0018", "GB")
    assert (uk.e164, uk.region_code, uk.number_type) == ("+442079460018", "GB", "FIXED_LINE")
    assert uk.time_zones == ("Europe/London",)
    # The default region does not matter once a '+' gives the country.
    assert normalize("+33 1 23 45 67 89", "US").e164 == "+33123456789"
    ca = normalize("+1 613 555 0123", None)
    assert (ca.region_code, ca.time_zones) == ("CA", ("America/Toronto",))


def test_reference_invalid_and_unparseable() -> None:
    invalid = normalize("+1 555 555 1234", None)
    assert invalid.e164 == "+15555551234"
    assert not invalid.is_valid
    assert invalid.region_code is None
    assert invalid.number_type == "UNKNOWN"
    assert invalid.time_zones == ("Etc/Unknown",)
    for raw, region in (
        ("abc", "US"),
        (None, "US"),
        ("", "US"),
        ("4155552671", None),
        ("+1", None),
    ):
        info = normalize(raw, region)
        assert info == PhoneInfo(raw, region, None, False, None, None, None, ())


def test_reference_several_time_zones() -> None:
    toll_free = normalize("+1 800 234 5678", None)
    assert toll_free.number_type == "TOLL_FREE"
    assert len(toll_free.time_zones) > 10
    assert "America/New_York" in toll_free.time_zones
    idaho = normalize("+1 208 200 1234", None)
    assert idaho.time_zones == ("America/Boise", "America/Los_Angeles")


# -- install -------------------------------------------------------------------


def test_install_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "wh.duckdb"
    con = duckdb.connect(str(path))
    install(con)
    counts = {t: con.execute(f"SELECT count(*) FROM ref.{t}").fetchone() for t in tables.TABLES}
    install(con)
    install(con, schema="ref")
    again = {t: con.execute(f"SELECT count(*) FROM ref.{t}").fetchone() for t in tables.TABLES}
    assert counts == again
    assert counts["phone_regions"][0] > 240  # type: ignore[index]
    assert tables.installed_version(con) is not None
    con.close()
    # Persisted: a new connection to the same file can install again.
    con = duckdb.connect(str(path))
    install(con)
    assert con.execute("SELECT count(*) FROM ref.phone_country_codes").fetchone()[0] > 200  # type: ignore[index]
    con.close()


def test_install_other_schema_and_auto_install() -> None:
    con = duckdb.connect()
    install(con, schema="phone_meta")
    assert tables.installed_version(con, "phone_meta") is not None
    assert tables.installed_version(con, "ref") is None
    # normalize_relation installs what it needs when the schema is empty.
    normalize_relation(con, "SELECT '+14155552671' AS raw, NULL AS region", "out", "US")
    assert tables.installed_version(con, "ref") is not None
    assert con.execute("SELECT e164 FROM out").fetchone() == ("+14155552671",)


# -- normalize_relation ---------------------------------------------------------

_SMALL = [
    (None, None),
    ("", None),
    ("", "GB"),
    ("(415) 555-2671", None),
    ("(415) 555-2671", "US"),
    ("(415) 555-2671", "GB"),  # national digits read in another region
    ("020 7946 0018", "GB"),
    ("020 7946 0018", None),  # parsed as a US number: invalid
    ("+1 800 234 5678", None),  # toll free: many time zones
    ("+1 208 200 1234", "US"),  # Idaho: two zones
    ("1-613-555-0123", "CA"),
    ("+1 555 555 1234", None),  # invalid but parseable
    ("+44 (0) 20 7946 0018", None),
    ("+39 06 698 12345", None),  # Italian leading zero, Vatican range
    ("011 44 20 7946 0018", "US"),  # international dialling prefix: fallback
    ("415-555-2671 x123", "US"),  # extension: fallback
    ("1-800-FLOWERS", "US"),  # vanity: fallback
    ("12", "US"),
    ("+12", None),
    ("4155552671", "ZZ"),  # unknown region
    ("+999 1234 5678", None),  # unknown country code
]


@pytest.fixture
def small_con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    install(con)
    con.execute("CREATE TABLE src (raw VARCHAR, region VARCHAR)")
    con.executemany("INSERT INTO src VALUES (?, ?)", _SMALL + _SMALL[:5])
    return con


def test_normalize_relation_small_table(small_con: duckdb.DuckDBPyConnection) -> None:
    normalize_relation(small_con, "SELECT raw, region FROM src", "phones", "US")
    rows = small_con.execute(f"SELECT raw, region, {OUTPUT_COLUMNS} FROM phones").fetchall()
    assert len(rows) == len(set(_SMALL)), "one row per distinct (raw, region)"
    by_pair = {(r[0], r[1]): r[2:] for r in rows}
    for raw, region in set(_SMALL):
        assert by_pair[(raw, region)] == _as_row(
            normalize(raw, "US" if region is None else region)
        ), (raw, region)
    assert by_pair[(None, None)] == (None, False, None, None, None, [])
    assert by_pair[("020 7946 0018", "GB")][0] == "+442079460018"
    assert by_pair[("020 7946 0018", None)][1] is False
    assert len(by_pair[("+1 800 234 5678", None)][5]) > 10
    assert by_pair[("+1 208 200 1234", "US")][5] == ["America/Boise", "America/Los_Angeles"]
    assert by_pair[("+1 555 555 1234", None)][:2] == ("+15555551234", False)


def test_normalize_relation_column_types_and_replace(
    small_con: duckdb.DuckDBPyConnection,
) -> None:
    normalize_relation(small_con, "SELECT raw, region FROM src", "phones", "US")
    normalize_relation(small_con, "SELECT raw, region FROM src LIMIT 3", "phones", "US")
    types = dict(
        small_con.execute("SELECT column_name, column_type FROM (DESCRIBE phones)").fetchall()
    )
    assert types == {
        "raw": "VARCHAR",
        "region": "VARCHAR",
        "e164": "VARCHAR",
        "is_valid": "BOOLEAN",
        "country_code": "INTEGER",
        "region_code": "VARCHAR",
        "number_type": "VARCHAR",
        "time_zones": "VARCHAR[]",
    }
    assert small_con.execute("SELECT count(*) FROM phones").fetchone()[0] <= 3  # type: ignore[index]


def test_describe_routes(small_con: duckdb.DuckDBPyConnection) -> None:
    routes = describe_routes(small_con, "SELECT raw, region FROM src", "US")
    assert sum(routes.values()) == len(set(_SMALL))
    # NULL raw, two empty raws, national digits in an unknown region.
    assert routes["empty"] == 4
    # IDD prefix, extension, vanity, unknown '+' code, two inputs with too few digits.
    assert routes["fallback"] == 6
    assert routes["sql_plus"] > 0 and routes["sql_national"] > 0


# -- registry lines --------------------------------------------------------------


@pytest.mark.parametrize(
    ("registry", "line", "expected"),
    [
        ("us_national", "4155552671", "+14155552671"),
        ("us_national", "415,5552671", "+14155552671"),
        ("us_national", " 415,5552671\r", "+14155552671"),
        ("us_national", "415,5552671,A", None),
        ("us_national", "41555526710", None),
        ("us_national", "415-555-2671", None),
        ("us_national", "0115552671", None),
        ("ca_dncl", "6135550123", "+16135550123"),
        ("ca_dncl", "613,5550123", "+16135550123"),
        ("ca_dncl", "613,555012", None),
        ("uk_tps", "01632 960000", "+441632960000"),
        ("uk_tps", "01632960000", "+441632960000"),
        ("uk_tps", "020 7946 0018", "+442079460018"),
        ("uk_tps", "0113 496 000", "+44113496000"),
        ("uk_tps", "1632 960000", None),
        ("uk_tps", "+44 1632 960000", None),
        ("uk_tps", "00 1632 960000", None),
        ("uk_ctps", "07700 900123", "+447700900123"),
        ("uk_ctps", "07700  900123", None),
        ("uk_ctps", "", None),
        ("uk_ctps", None, None),
    ],
)
def test_registry_e164_sql(registry: str, line: str | None, expected: str | None) -> None:
    con = duckdb.connect()
    got = con.execute(f"SELECT {registry_e164_sql('$1', registry)}", [line]).fetchone()
    assert got == (expected,)
    if expected is not None:
        digits = "".join(ch for ch in line or "" if ch.isdigit())
        region = {"us_national": "US", "ca_dncl": "CA"}.get(registry, "GB")
        assert normalize(digits, region).e164 == expected


def test_registry_e164_sql_rejects_unknown_registry() -> None:
    with pytest.raises(ValueError, match="unknown registry"):
        registry_e164_sql("line", "fr_bloctel")


# -- the derivations behind the bulk path -----------------------------------------


def test_pattern_boxes_match_like_the_regex() -> None:
    """Every metadata pattern's boxes accept exactly what the pattern accepts."""
    rng = random.Random(11)
    patterns = {d.pattern for d in metadata.desc_records()}
    patterns |= {r.leading_digits for r in metadata.region_records() if r.leading_digits}
    for pattern in sorted(patterns):
        found = boxes(pattern)
        compiled = re.compile(pattern)
        samples = [
            "".join(rng.choice(sorted(s)) for s in box)
            for box in rng.sample(sorted(found, key=str), min(3, len(found)))
        ]
        samples += [
            "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 12))) for _ in range(6)
        ]
        samples += [s[:-1] + rng.choice("0123456789") for s in samples if s]
        for text in samples:
            expected = compiled.fullmatch(text) is not None
            assert any(box_matches(b, text) for b in found) == expected, (pattern, text)


@pytest.mark.parametrize("country_code", [1, 7, 39, 44, 54, 61, 262, 599, 800, 882])
def test_decision_trie_agrees_with_phonenumbers(country_code: int) -> None:
    """Region, type and time zones read from a code's trie equal the library's."""
    entities, spec = derived.code_specs()[country_code]
    trie = typetrie.CountryTrie(entities, spec)
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE[country_code]
    zones = {i: list(z) for z, i in derived.zone_sets().items()}
    rng = random.Random(country_code)
    examples = [
        phonenumbers.national_significant_number(n)
        for region in regions
        for t in range(11)
        if (n := _example(region, country_code, t)) is not None
    ]
    compared = 0
    for _ in range(400):
        base = rng.choice(examples) if examples and rng.random() < 0.8 else ""
        keep = rng.randint(0, len(base))
        nsn = base[:keep] + "".join(
            rng.choice("0123456789") for _ in range(rng.randint(max(0, 2 - keep), 17 - keep))
        )
        rank, kind, zone = trie.lookup(nsn)
        info = normalize(f"+{country_code}{nsn}", None)
        if info.e164 != f"+{country_code}{nsn}":
            continue  # parse stripped a national prefix: not a plain NSN
        assert (regions[rank] if rank >= 0 else None) == (
            "001" if info.region_code == "001" else info.region_code
        ), nsn
        assert phonenumbers.PhoneNumberType.to_string(kind) == info.number_type, nsn
        assert zones[zone] == list(info.time_zones), nsn
        compared += 1
    assert compared > 200


def _example(region: str, country_code: int, num_type: int) -> phonenumbers.PhoneNumber | None:
    if region == "001":
        return phonenumbers.example_number_for_non_geo_entity(country_code)
    return phonenumbers.example_number_for_type(region, num_type)
