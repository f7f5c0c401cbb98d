"""The one SELECT that normalizes the fast rows of a staged table.

Steps, each a CTE, each mirroring a piece of ``phonenumbers.parse`` and
friends:

1. country code: after ``+`` from the 3-digit prefix map; else the default
   region's own, kept stripped when ``_maybe_extract_country_code`` would
   (both via the row's parse key);
2. national-prefix stripping and transform rules, kept when the possible-
   length test allows (``parse`` itself); skipped for numbers whose first
   digit no national prefix of that metadata can start with;
3. region, number type, validity and time zones: a few integer joins down
   the code's decision levels (``typetrie``), then the answer for the
   number's length.
"""

from __future__ import annotations

from voice_compliance.phones import typetrie
from voice_compliance.phones.plan import DIGITS_SQL, FAST, PLUS_SQL, Plan, r_sql
from voice_compliance.phones.tables import qualified, quote_ident


def _type_joins(schema: str, levels: int, codes: list[int]) -> tuple[str, str]:
    """LEFT JOINs down a code's decision levels, and the resolved answer-vector id."""
    table = qualified(schema, "phone_type_levels")
    # Only the codes present are loaded into each join's hash table.
    present = ", ".join(str(c) for c in codes) or "NULL"
    joins, guard = [], "ok"
    for n in range(levels):
        # Key of the first min(nlen, depth) digits: length and value together.
        size = f"least(nlen, lv{n})"
        key = (
            f"{size} * {typetrie.KEY_LENGTH_FACTOR}::BIGINT"
            f" + xn // CAST(10 ** (nlen - {size}) AS BIGINT)"
        )
        joins.append(
            f"LEFT JOIN (SELECT * FROM {table} WHERE level_index = {n} "
            f"AND country_code IN ({present})) AS y{n} "
            f"ON y{n}.country_code = w.cc AND y{n}.level_key = CASE WHEN {guard} THEN {key} END"
        )
        # The next level is only asked for numbers longer than this depth
        # whose prefix is not settled yet.
        guard = f"y{n}.deep AND nlen > lv{n}"
    vector = "coalesce(" + ", ".join(f"y{n}.vector_id" for n in reversed(range(levels))) + ")"
    return "\n".join(joins), vector


def fast_sql(plan: Plan, schema: str, table: str, levels: int, default_region: str | None) -> str:
    """The SELECT producing the output columns for the FAST rows of ``table``."""
    type_joins, vector = _type_joins(schema, levels, plan.codes)
    depths = "".join(f", lv{n}" for n in range(levels))
    depth_cols = "".join(f", k.type_depth_{n} AS lv{n}" for n in range(levels))
    return f"""
    WITH t AS (
        SELECT raw, region, {r_sql(default_region)} AS r, {DIGITS_SQL} AS d, kid,
               {PLUS_SQL} AS plus
        FROM {quote_ident(table)} WHERE route = {FAST}
    ),
    c AS (
        -- Country code: read after '+', else the default region's own.
        SELECT t.raw, t.region, t.r, t.d, t.plus, k.country_code AS cc, k.cc_text, k.cc_len,
               k.md_id, k.main_md_id, k.strip_mask, k.main_strip_mask {depth_cols},
               NOT t.plus AND starts_with(t.d, k.cc_text) AS has_cc
        FROM t JOIN {qualified(schema, "phone_parse_keys")} AS k ON k.key_id = t.kid
    ),
    n AS (
        SELECT c.*, CASE WHEN has_cc THEN {plan.national_cc_stripped()} END AS p2
        FROM (SELECT c.*, CASE WHEN has_cc THEN substr(d, cc_len + 1) END AS rest FROM c) AS c
    ),
    u AS (
        -- The national number before parse()'s own prefix stripping, and the
        -- metadata that stripping uses (the country's main one once a code
        -- was read, else the default region's).
        SELECT raw, region, cc, cc_text {depths},
               CASE WHEN plus THEN substr(d, cc_len + 1) WHEN use_cc THEN p2 ELSE d END AS nn0,
               CASE WHEN plus OR use_cc THEN main_md_id ELSE md_id END AS md,
               CASE WHEN plus OR use_cc THEN main_strip_mask ELSE strip_mask END AS sm
        FROM (
            SELECT n.*,
                   CASE WHEN has_cc THEN coalesce({plan.national_cc_check()}, FALSE)
                        ELSE FALSE END AS use_cc
            FROM n
        ) AS n
    ),
    s AS (
        SELECT u.*, length(ps) AS lps
        FROM (
            -- Only numbers starting with a digit a national prefix can start
            -- with go through the stripping rules.
            SELECT u.*, CASE WHEN length(nn0) < 2 THEN NULL
                             WHEN (sm >> (ascii(nn0) - 48)) & 1 = 0 THEN nn0
                             ELSE {plan.strip_prefix("nn0")} END AS ps
            FROM u
        ) AS u
    ),
    w AS (
        SELECT v.*, CASE WHEN ok THEN CAST(nn AS BIGINT) END AS xn
        FROM (
            SELECT raw, region, cc, cc_text {depths}, nn, length(nn) AS nlen,
                   ps IS NOT NULL AND length(nn) <= {typetrie.MAX_NSN} AS ok
            FROM (
                SELECT s.*, CASE WHEN ps = nn0 THEN nn0
                                 WHEN {plan.keeps_stripped("lps")} THEN ps ELSE nn0 END AS nn
                FROM s
            ) AS s
        ) AS v
    )
    SELECT w.raw, w.region,
           CASE WHEN ok THEN '+' || cc_text || nn END AS e164,
           coalesce(ans.is_valid, FALSE) AS is_valid,
           CASE WHEN ok THEN cc END AS country_code,
           ans.region_code,
           ans.number_type,
           CASE WHEN ok THEN string_split(ans.time_zones_csv, ',') ELSE []::VARCHAR[] END
               AS time_zones
    FROM w
    {type_joins}
    LEFT JOIN {qualified(schema, "phone_type_answers")} AS ans
        ON ans.vector_id = {vector} AND ans.nsn_length = w.nlen
    """
