"""Differential tests: the SQL path against phonenumbers on a generated corpus.

The corpus covers every input shape the pipeline sees (E.164 for every
region, valid and not; US and UK national formats with punctuation; other
countries' national and international formats; registry lines; random
digit strings in random regions; junk) with a fixed seed. Every column of
``normalize_relation`` must equal ``reference.normalize`` for every pair.

Size: ``VC_PHONE_CORPUS`` if set, else 1,000,000 under CI, else 30,000 (the
quick variant, always part of the default run).
"""

from __future__ import annotations

import os
import random
import re
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import duckdb
import phonenumbers
import pytest
from phonenumbers import phonenumberutil as pnu

from voice_compliance.loading.registry_table import e164_number_sql
from voice_compliance.phones import install, normalize, normalize_relation, registry_e164_sql
from voice_compliance.phones.registry import (
    REGISTRY_REGIONS,
    registry_digits,
    registry_plain_number_sql,
)

SEED = 20240227
QUICK_SIZE = 30_000
CI_SIZE = 1_000_000
DEFAULT_REGION = "US"

Pair = tuple[str | None, str | None]
Row = tuple[Any, ...]


def corpus_size() -> int:
    """Corpus size from the environment (see module docstring)."""
    if os.environ.get("VC_PHONE_CORPUS"):
        return int(os.environ["VC_PHONE_CORPUS"])
    return CI_SIZE if os.environ.get("CI") else QUICK_SIZE


# --------------------------------------------------------------------------
# Corpus generation
# --------------------------------------------------------------------------

_TYPES = (
    phonenumbers.PhoneNumberType.FIXED_LINE,
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.TOLL_FREE,
    phonenumbers.PhoneNumberType.PREMIUM_RATE,
    phonenumbers.PhoneNumberType.SHARED_COST,
    phonenumbers.PhoneNumberType.VOIP,
    phonenumbers.PhoneNumberType.PERSONAL_NUMBER,
    phonenumbers.PhoneNumberType.PAGER,
    phonenumbers.PhoneNumberType.UAN,
    phonenumbers.PhoneNumberType.VOICEMAIL,
)
# Regions the brief names explicitly, weighted up in the corpus.
_MAIN_REGIONS = ("US", "CA", "GB", "FR", "AU", "DE", "IT", "ES", "MX", "BR", "IN", "JP", "AR")
# Regions whose national prefix rule rewrites the number (phonenumbers'
# national_prefix_transform_rule) or carries a carrier code.
_TRANSFORM_REGIONS = (
    "AG",
    "AI",
    "AS",
    "BB",
    "BM",
    "BS",
    "DM",
    "GD",
    "GU",
    "KN",
    "KY",
    "LC",
    "MP",
    "MS",
    "SX",
    "TC",
    "TT",
    "VC",
    "VG",
    "VI",
    "GG",
    "IM",
    "JE",
    "AR",
    "BR",
    "CC",
    "CX",
    "JP",
    "GA",
    "MG",
    "NF",
    "SM",
    "CO",
    "KR",
    "CN",
    "BO",
    "FO",
    "LU",
    "LI",
    "CR",
    "AU",
    "BY",
    "LT",
    "HU",
    "RU",
)
_US_AREAS = (201, 212, 213, 305, 312, 404, 415, 512, 617, 646, 702, 720, 808, 907, 917, 939)
_JUNK = (
    "",
    " ",
    "abc",
    "n/a",
    "unknown",
    "+",
    "++",
    "-",
    "()",
    "1",
    "12",
    "+1",
    "+12",
    "1-2",
    "+44",
    "tel:+1-415-555-2671",
    "tel:+14155552671;phone-context=+1",
    "+1 (415) 555-2671 ext. 22",
    "415-555-2671 x123",
    "415 555 2671 #45",
    "1-800-FLOWERS",
    "1-800-356-9377;ext=12",
    "+1\t415 555 2671",
    "\t+14155552671\r",
    "+１４１５５５５２６７１",
    "４１５５５５２６７１",
    "+1 415 555 2671 / 2672",
    "415/555/2671",
    "(415)5552671,,12",
    "0",
    "00",
    "0000000000",
    "+0",
    "+000",
    "+999 123456",
    "+8881234567",
    "+2 1234 5678",
    "1+415",
    "+1+415",
    "4155552671+",
    "*67 415 555 2671",
    "[415] 555-2671",
)


class CorpusBuilder:
    """Builds a deterministic list of ``(raw, region)`` pairs."""

    def __init__(self, seed: int = SEED) -> None:
        self.rng = random.Random(seed)
        self.regions = sorted(pnu.SUPPORTED_REGIONS)
        self.examples: list[tuple[str, phonenumbers.PhoneNumber]] = []
        for region in self.regions:
            for num_type in _TYPES:
                number = phonenumbers.example_number_for_type(region, num_type)
                if number is not None:
                    self.examples.append((region, number))
        for cc in sorted(pnu.COUNTRY_CODES_FOR_NON_GEO_REGIONS):
            number = phonenumbers.example_number_for_non_geo_entity(cc)
            if number is not None:
                self.examples.append(("001", number))
        self.main_examples = [e for e in self.examples if e[0] in _MAIN_REGIONS]

    # Digit-level mutations ------------------------------------------------

    def _mutate(self, digits: str) -> str:
        """Randomize the tail (mostly keeps validity), sometimes change length."""
        rng = self.rng
        keep = max(1, len(digits) - rng.choice((2, 3, 4, 4, 5, 6)))
        out = digits[:keep] + "".join(rng.choice("0123456789") for _ in digits[keep:])
        roll = rng.random()
        if roll < 0.06:
            out = out[:-1]
        elif roll < 0.12:
            out += rng.choice("0123456789")
        elif roll < 0.14:
            out = out[: max(1, len(out) - rng.randint(2, 6))]
        elif roll < 0.16:
            out += "".join(rng.choice("0123456789") for _ in range(rng.randint(2, 9)))
        return out

    def _example(self, main: bool = False) -> tuple[str, phonenumbers.PhoneNumber]:
        pool = self.main_examples if main and self.rng.random() < 0.6 else self.examples
        return self.rng.choice(pool)

    def _mutated_number(self, main: bool = False) -> tuple[str, phonenumbers.PhoneNumber]:
        region, number = self._example(main)
        nsn = pnu.national_significant_number(number)
        mutated = phonenumbers.PhoneNumber(country_code=number.country_code)
        new = self._mutate(nsn)
        if new.startswith("0"):
            mutated.italian_leading_zero = True
            zeros = len(new) - len(new.lstrip("0"))
            mutated.number_of_leading_zeros = min(zeros, len(new) - 1) or 1
        mutated.national_number = int(new)
        return region, mutated

    def _punctuate(self, digits: str) -> str:
        rng = self.rng
        sep = rng.choice((" ", "-", ".", " ", ""))
        out, i = [], 0
        while i < len(digits):
            step = rng.randint(2, 4)
            out.append(digits[i : i + step])
            i += step
        text = sep.join(out)
        if rng.random() < 0.2 and len(out) > 1:
            text = "(" + out[0] + ") " + sep.join(out[1:])
        return text

    # Shapes -----------------------------------------------------------------

    def e164(self) -> Pair:
        _, number = self._mutated_number(main=True)
        text = "+" + str(number.country_code) + pnu.national_significant_number(number)
        return text, self._region_for_plus()

    def international(self) -> Pair:
        _, number = self._mutated_number(main=True)
        try:
            text = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        except Exception:
            text = "+" + str(number.country_code) + pnu.national_significant_number(number)
        if self.rng.random() < 0.3:
            text = "+" + self._punctuate(text[1:].replace(" ", "").replace("-", ""))
        return text, self._region_for_plus()

    def national_other(self) -> Pair:
        region, number = self._mutated_number(main=True)
        if region == "001":
            region = self.rng.choice(self.regions)
        text = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
        if self.rng.random() < 0.3:
            text = re.sub(r"[^0-9]", "", text)
        # Sometimes parse in another region than the number's own.
        if self.rng.random() < 0.1:
            region = self.rng.choice(_MAIN_REGIONS)
        return text, region

    def us_national(self) -> Pair:
        rng = self.rng
        area = rng.choice(_US_AREAS) if rng.random() < 0.7 else rng.randint(100, 999)
        exchange = rng.randint(200, 999) if rng.random() < 0.9 else rng.randint(0, 199)
        line = rng.randint(0, 9999)
        a, x, n = f"{area:03d}", f"{exchange:03d}", f"{line:04d}"
        style = rng.randrange(9)
        text = (
            f"({a}) {x}-{n}",
            f"{a}-{x}-{n}",
            f"{a}.{x}.{n}",
            f"1-{a}-{x}-{n}",
            f"+1 {a} {x} {n}",
            f"1{a}{x}{n}",
            f"{a}{x}{n}",
            f"+1 ({a}) {x}-{n}",
            f"1 ({a}) {x} {n}",
        )[style]
        region = rng.choice((None, None, "US", "CA", "US", "PR", "GB"))
        return text, region

    def uk_national(self) -> Pair:
        rng = self.rng
        style = rng.randrange(6)
        text = (
            f"020 7946 {rng.randint(0, 9999):04d}",
            f"01632 {rng.randint(0, 999999):06d}",
            f"07700 {rng.randint(0, 999999):06d}",
            f"0{rng.randint(1000, 9999)} {rng.randint(0, 999999):06d}",
            f"0{rng.randint(100000000, 9999999999)}",
            f"0{rng.randint(10, 99)} {rng.randint(1000, 9999)} {rng.randint(0, 9999):04d}",
        )[style]
        return text, rng.choice(("GB", "GB", "GB", "GG", "JE", "IM", None))

    def registry_line(self) -> Pair:
        registry = self.rng.choice(tuple(REGISTRY_REGIONS))
        return self.registry_field(registry), REGISTRY_REGIONS[registry]

    def registry_field(self, registry: str) -> str:
        """One registry number field, mostly well-formed, sometimes not."""
        rng = self.rng
        roll = rng.random()
        if registry in ("us_national", "ca_dncl"):
            area = rng.randint(0, 999) if roll < 0.1 else rng.randint(200, 999)
            body = rng.randint(0, 9_999_999)
            text = f"{area:03d},{body:07d}" if rng.random() < 0.5 else f"{area:03d}{body:07d}"
        else:
            size = rng.choice((9, 10, 10))
            digits = str(rng.randint(1, 9)) + "".join(
                rng.choice("0123456789") for _ in range(size - 1)
            )
            cut = rng.randint(2, 5)
            text = "0" + digits
            if rng.random() < 0.6:
                text = text[:cut] + " " + text[cut:]
        if roll > 0.93:
            text = rng.choice(
                (
                    text + ",A",
                    " " + text + "\r",
                    text[:-1],
                    text + "7",
                    "x" + text,
                    text.replace("0", "O", 1),
                    "",
                    "00" + text,
                    "+44" + text,
                    text + "  ",
                )
            )
        return text

    def random_digits(self) -> Pair:
        rng = self.rng
        size = rng.randint(2, 20)
        text = "".join(rng.choice("0123456789") for _ in range(size))
        if rng.random() < 0.35:
            text = "+" + text
        region = (
            rng.choice(self.regions)
            if rng.random() < 0.8
            else rng.choice(("ZZ", "us", "001", "441", "", None))
        )
        return text, region

    def idd(self) -> Pair:
        _, number = self._mutated_number(main=True)
        region = self.rng.choice(_MAIN_REGIONS)
        prefix = {"US": "011", "CA": "011", "JP": "010", "AU": "0011", "BR": "0015"}.get(
            region, "00"
        )
        text = (
            prefix + " " + str(number.country_code) + " " + pnu.national_significant_number(number)
        )
        return text, region

    def prefix_play(self) -> Pair:
        """Inputs that exercise national-prefix and country-code reading rules."""
        rng = self.rng
        region, number = self._mutated_number(main=rng.random() < 0.5)
        if region == "001":
            region = rng.choice(_MAIN_REGIONS)
        cc, nsn = str(number.country_code), pnu.national_significant_number(number)
        prefix = phonenumbers.ndd_prefix_for_region(region, True) or "0"
        style = rng.randrange(6)
        if style == 0:  # national input that repeats the region's own country code
            return cc + nsn, region
        if style == 1:  # national prefix after the country code
            return "+" + cc + " " + prefix + " " + nsn, rng.choice((None, region))
        if style == 2:  # '+44 (0) 20 ...' style
            return "+" + cc + " (" + prefix + ") " + nsn, None
        if style == 3:  # local number in a region with a transform rule
            local = rng.choice(_TRANSFORM_REGIONS)
            size = rng.choice((5, 6, 7, 7, 8))
            return "".join(rng.choice("0123456789") for _ in range(size)), local
        if style == 4:  # national prefix plus national number
            return prefix + nsn, region
        return prefix + self._punctuate(nsn), region

    def junk(self) -> Pair:
        return self.rng.choice(_JUNK), self.rng.choice((None, "US", "GB", "FR", "ZZ"))

    def _region_for_plus(self) -> str | None:
        return self.rng.choice((None, None, "US", "GB", "FR", "ZZ", "us"))

    def build(self, size: int) -> list[Pair]:
        """``size`` pairs in the shape mix of the pipeline's inputs."""
        shapes: Sequence[tuple[float, Callable[[], Pair]]] = (
            (0.25, self.e164),
            (0.14, self.us_national),
            (0.09, self.uk_national),
            (0.09, self.registry_line),
            (0.13, self.national_other),
            (0.06, self.international),
            (0.08, self.prefix_play),
            (0.08, self.random_digits),
            (0.03, self.idd),
            (0.03, self.junk),
        )
        weights = [w for w, _ in shapes]
        makers = [m for _, m in shapes]
        out: list[Pair] = [(None, None), (None, "US"), ("", None), ("+14155552671", None)]
        chosen = self.rng.choices(makers, weights=weights, k=size - len(out))
        out.extend(maker() for maker in chosen)
        return out


# --------------------------------------------------------------------------
# Reference computation (the expensive part: spread over the cores)
# --------------------------------------------------------------------------


def _reference_chunk(pairs: Sequence[tuple[str | None, str | None]]) -> list[Row]:
    out = []
    for raw, region in pairs:
        info = normalize(raw, region)
        out.append(
            (
                info.e164,
                info.is_valid,
                info.country_code,
                info.region_code,
                info.number_type,
                list(info.time_zones),
            )
        )
    return out


_CHUNK = 25_000


def _chunk_with_reference(job: tuple[int, int]) -> tuple[list[Pair], list[Row]]:
    """Build one corpus chunk (its own seed) and its reference rows."""
    index, size = job
    pairs = CorpusBuilder(SEED + index).build(size)
    return pairs, _reference_chunk(
        [(raw, DEFAULT_REGION if region is None else region) for raw, region in pairs]
    )


def corpus_with_reference(size: int) -> dict[Pair, Row]:
    """A deterministic corpus of ``size`` pairs, each with what reference.normalize
    returns for it. Big corpora are built and normalized in chunks on every core:
    the library, once per pair, is the expensive part."""
    jobs = [(i, min(_CHUNK, size - start)) for i, start in enumerate(range(0, size, _CHUNK))]
    workers = os.cpu_count() or 1
    if len(jobs) == 1 or workers == 1:
        parts = [_chunk_with_reference(job) for job in jobs]
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            parts = list(pool.map(_chunk_with_reference, jobs))
    out: dict[Pair, Row] = {}
    for pairs, rows in parts:
        out.update(zip(pairs, rows, strict=True))
    return out


def _load_pairs(con: duckdb.DuckDBPyConnection, pairs: Iterable[Pair], table: str) -> None:
    items = list(pairs)
    con.execute(
        f"CREATE OR REPLACE TABLE {table} AS "
        "SELECT unnest($1::VARCHAR[]) AS raw, unnest($2::VARCHAR[]) AS region",
        [[p[0] for p in items], [p[1] for p in items]],
    )


def _report(mismatches: list[tuple[Pair, Row, Row]], total: int) -> str:
    lines = [f"{len(mismatches)} of {total} distinct pairs disagree; first ones:"]
    for (raw, region), got, want in mismatches[:15]:
        lines.append(f"  raw={raw!r} region={region!r}\n    sql={got}\n    ref={want}")
    return "\n".join(lines)


def run_differential(size: int) -> int:
    """Compare normalize_relation with the reference on a corpus of ``size``.

    Returns the number of distinct pairs compared; asserts on any mismatch.
    """
    expected = corpus_with_reference(size)
    con = duckdb.connect()
    install(con)
    _load_pairs(con, expected, "corpus")
    normalize_relation(con, "SELECT raw, region FROM corpus", "normalized", DEFAULT_REGION)
    got = con.execute(
        "SELECT raw, region, e164, is_valid, country_code, region_code, number_type, time_zones "
        "FROM normalized"
    ).fetchall()
    assert len(got) == len(expected), "normalize_relation must give one row per distinct pair"
    by_pair = {(row[0], row[1]): tuple(row[2:]) for row in got}
    mismatches = [
        (pair, by_pair.get(pair), want)
        for pair, want in expected.items()
        if by_pair.get(pair) != want
    ]
    assert not mismatches, _report(mismatches, len(expected))  # type: ignore[arg-type]
    return len(expected)


@pytest.mark.quick
def test_differential_quick_corpus() -> None:
    """30k pairs in every shape: 100% agreement, in the default (quick) run."""
    run_differential(min(QUICK_SIZE, corpus_size()))


@pytest.mark.slow
def test_differential_full_corpus() -> None:
    """The configured corpus (1M under CI): 100% agreement."""
    size = corpus_size()
    if size <= QUICK_SIZE:
        pytest.skip("corpus no larger than the quick variant; set CI or VC_PHONE_CORPUS")
    run_differential(size)


@pytest.mark.quick
@pytest.mark.parametrize("registry", sorted(REGISTRY_REGIONS))
def test_registry_sql_matches_phonenumbers(registry: str) -> None:
    """registry_e164_sql against phonenumbers on generated registry lines."""
    builder = CorpusBuilder(seed=SEED + len(registry))
    lines = [builder.registry_field(registry) for _ in range(6_000)]
    con = duckdb.connect()
    con.execute("CREATE TABLE lines AS SELECT unnest($1::VARCHAR[]) AS line", [lines])
    got = dict(
        con.execute(f"SELECT line, {registry_e164_sql('line', registry)} FROM lines").fetchall()
    )
    region = REGISTRY_REGIONS[registry]
    bad = []
    for line in set(lines):
        digits = registry_digits(line, registry)
        want = None if digits is None else normalize(digits, region).e164
        if got[line] != want:
            bad.append((line, got[line], want))
    assert not bad, f"{len(bad)} registry lines disagree, e.g. {bad[:10]}"
    # The generator must really produce both well-formed and malformed lines.
    assert sum(v is None for v in got.values()) > 0
    assert sum(v is not None for v in got.values()) > len(got) // 2
    # The number raw.registry_lines stores: the E.164 digits as an integer,
    # from the general form and from the bare-number fast path alike.
    numbers = con.execute(
        f"""SELECT line, {e164_number_sql(registry_e164_sql("line", registry))},
            {registry_plain_number_sql("line", registry)} FROM lines"""
    ).fetchall()
    for line, number, plain in numbers:
        want = None if got[line] is None else int(got[line][1:])
        assert number == want, (line, number, want)
        assert plain is None or plain == want, (line, plain, want)
    assert any(plain is not None for _, _, plain in numbers)
