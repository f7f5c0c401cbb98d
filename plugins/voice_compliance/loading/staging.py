"""Read one materialized landing file into two temporary tables, in DuckDB.

Every reader leaves the same shape behind, whatever the file format:

- ``_stage``: one row per record that DuckDB could read, with ``_line`` (the
  physical line number in the decompressed file, or the position in a JSON
  page's ``calls`` array), ``_raw`` (the record's text), one VARCHAR column per
  declared source column (NULL when the file lacks it) and ``_extra`` (JSON
  of the columns the contract does not declare, kept for the raw layer).
- ``_stage_rejects``: records that could not be read at all
  (``_line, _raw, reason``): wrong column count, invalid UTF-8, invalid JSON,
  a line cut short by a truncated gzip member.

Typing and per-field checks happen afterwards, in ``validate``. Nothing here
iterates over rows in Python: DuckDB's CSV reader does the parsing, with its
rejects tables catching malformed records.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from voice_compliance.loading.registry_table import e164_number_sql
from voice_compliance.loading.sources import Column
from voice_compliance.loading.validate import NUL_REASON, has_nul, with_nulled_notes

# Reading a file with a delimiter no line holds yields one column per physical
# line; with ``strict_mode = false`` whatever follows a delimiter is dropped
# without a reject. A single control byte (U+0001, as before) does occur in
# hostile files, and cut lines silently ("4155550177<U+0001>junk" loaded as a
# number), so it is four control bytes in a row (the longest delimiter DuckDB
# takes): no reader time lost (1.25 s for 50 M registry lines either way).
_LINE_DELIM = "\\x01\\x1f\\x1e\\x02"
_MAX_LINE_SIZE = 16 * 1024 * 1024
LINE_READER = f"""columns = {{'text': 'VARCHAR'}}, header = false, auto_detect = false,
    delim = e'{_LINE_DELIM}', quote = '', escape = '', strict_mode = false,
    max_line_size = {_MAX_LINE_SIZE}"""
"""``read_csv`` options that read every physical line as one ``text`` column."""
CSV_DIALECT = f"""header = true, auto_detect = false,
    delim = ',', quote = '"', escape = '"', max_line_size = {_MAX_LINE_SIZE}"""
"""``read_csv`` options for contract CSV files (explicit dialect, no sniffing)."""
IS_JSON_OBJECT = """coalesce(
    case when json_valid("text") then json_type("text") end = 'OBJECT', false)"""
JSONL_REJECT_REASON = f"""case when {has_nul('"text"')} then '{NUL_REASON}'
    else 'invalid JSON: not a JSON object' end"""
"""SQL: why a JSON Lines line that is not a JSON object is rejected."""
REGISTRY_REJECT_REASON = f"""case when {has_nul("_raw")} then '{NUL_REASON}'
    else 'unparseable registry line: expected the contract format' end"""
"""SQL: why a staged registry line without an E.164 number is rejected."""
_NO_RECORDS = "select null::bigint as _line, null::varchar as _raw, null::json as rec where false"


def without_bom(expr: str) -> str:
    """SQL: ``expr`` (a whole JSON page) without a leading UTF-8 byte order mark,
    as CSV, JSON Lines and registry files are read."""
    return f"case when starts_with({expr}, chr(65279)) then substr({expr}, 2) else {expr} end"


def without_cr(expr: str) -> str:
    """SQL: ``expr`` without trailing carriage returns (a CRLF file's line ends).

    ``rtrim`` scans every line; most lines have no CR, so it only runs on
    those that end with one (a suffix compare): at 61 M registry lines the
    guard saves seconds, with the same result.
    """
    return f"case when suffix({expr}, e'\\r') then rtrim({expr}, e'\\r') else {expr} end"


def quote_ident(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@contextmanager
def file_order(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Keep the rows a reader creates in file order (rowid order = line order).

    The warehouse runs with ``preserve_insertion_order`` off (large inserts
    stream), and then DuckDB's parallel CSV reader appends the chunks of a
    file of a few tens of MB, and the files of a list, in any order. Line
    numbers are derived from rowid order, so every statement that reads
    landing lines or records into a table runs inside this.
    """
    row = con.execute("select current_setting('preserve_insertion_order')").fetchone()
    before = bool(row[0]) if row else True
    con.execute("set preserve_insertion_order = true")
    try:
        yield
    finally:
        con.execute(f"set preserve_insertion_order = {str(before).lower()}")


def _drop(con: duckdb.DuckDBPyConnection, *tables: str) -> None:
    for table in tables:
        con.execute(f"drop table if exists {table}")


def reset(con: duckdb.DuckDBPyConnection) -> None:
    """Drop every temporary table a previous staging left behind."""
    _drop(
        con,
        "_stage",
        "_stage_rejects",
        "_lines",
        "_lines_raw",
        "_lines_rej",
        "_lines_scan",
        "_csv",
        "_csv_rej",
        "_csv_scan",
        "_csv_numbers",
        "_csv_lines",
        "_csv_grouped",
        "_csv_records",
        "_csv_parsed",
        "_page",
        "_page_items",
    )
    con.execute("create temp table _stage_rejects (_line bigint, _raw varchar, reason varchar)")


def read_lines(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Create ``_lines(line_number, text)``: every physical line, numbered.

    Lines DuckDB cannot read (invalid UTF-8, oversized) go to
    ``_stage_rejects``; blank lines stay, with NULL text, so numbering holds.
    """
    with file_order(con):
        con.execute(
            f"""
            create temp table _lines_raw as
            select "text" from read_csv({literal(str(path))}, {LINE_READER},
                store_rejects = true, rejects_table = '_lines_rej', rejects_scan = '_lines_scan')
            """
        )
    # DuckDB keeps insertion order in the new table, so rowid is file order;
    # rejected lines are missing from it, hence the gap-filling numbering.
    con.execute(
        f"""
        create temp table _lines as
        with rejected as (select distinct line from _lines_rej),
        total as (
            select (select count(*) from _lines_raw) + (select count(*) from rejected) as n
        ),
        kept_numbers as (
            select r.i as line_number, row_number() over (order by r.i) as k
            from total, range(1, total.n + 1) as r(i)
            where r.i not in (select line from rejected)
        )
        select kn.line_number, {without_cr('l."text"')} as "text"
        from (select "text", rowid - (select min(rowid) from _lines_raw) + 1 as k
              from _lines_raw) as l
        join kept_numbers as kn using (k)
        """
    )
    con.execute(
        """
        insert into _stage_rejects
        select line, string_agg(distinct csv_line, ' '), 'invalid text: '
            || string_agg(distinct case when error_type = 'INVALID ENCODING'
                then 'not valid UTF-8' else lower(error_type) end, ', ')
        from _lines_rej group by line
        """
    )


def add_truncation_reject(con: duckdb.DuckDBPyConnection, remainder: str) -> None:
    """Record the partial last line a truncated gzip member left behind."""
    con.execute(
        """
        insert into _stage_rejects
        select coalesce((select max(line_number) from _lines), 0)
               + (select count(distinct line) from _lines_rej) + 1,
               ?, 'truncated gzip member: incomplete last line'
        """,
        [remainder],
    )


def read_header(path: Path) -> list[str] | None:
    """The CSV header's column names (lower-cased, trimmed); None if empty.

    The header ends at the first line break of any kind: in a file with CR
    line endings alone, ``readline`` would return the whole file.
    """
    first = b""
    with path.open("rb") as handle:
        while len(first) <= _MAX_LINE_SIZE:
            chunk = handle.read(65536)
            first += chunk
            if not chunk or b"\n" in chunk or b"\r" in chunk:
                break
    first = re.split(rb"[\r\n]", first, maxsplit=1)[0]
    text = first.decode("utf-8-sig", errors="replace").strip()
    if not text:
        return None
    row = next(csv.reader(io.StringIO(text)))
    return [name.strip().lower() for name in row]


def unique_names(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for index, name in enumerate(names):
        base = name or f"column_{index + 1}"
        count = seen.get(base, 0)
        seen[base] = count + 1
        out.append(base if count == 0 else f"{base}_{count + 1}")
    return out


def stage_csv(
    con: duckdb.DuckDBPyConnection, path: Path, columns: tuple[Column, ...], header: list[str]
) -> None:
    """Stage a CSV file with a header row into ``_stage``.

    The header (line 1) fixes the schema; every column is read as VARCHAR.
    Every non-blank physical line after the header belongs to exactly one
    record, loaded or rejected, numbered by the line it starts on.

    When no line has an odd number of quotes, every record is one line and
    DuckDB's reader (explicit dialect, no sniffing) parses the file; its
    rejects table catches records of the wrong width. Otherwise (a quoted
    field spanning lines, an unbalanced quote), or when the reader's records
    do not match the lines one to one, records are grouped and split in SQL
    (``_stage_csv_records``).
    """
    names = unique_names(header)
    if not _has_odd_quote_lines(con):
        try:
            if _stage_csv_by_reader(con, path, columns, names):
                return
        except duckdb.Error:
            # The reader gives up on some files our line table reads fine
            # (LF and CRLF mixed in one file): split their records in SQL.
            _drop(con, "_stage", "_csv", "_csv_numbers", "_csv_rej", "_csv_scan")
    _stage_csv_records(con, columns, names)


def quote_count(text_sql: str) -> str:
    """SQL counting the double quotes in a VARCHAR expression (0 for NULL)."""
    text = f"coalesce({text_sql}, '')"
    return f"""(strlen({text}) - strlen(replace({text}, '"', '')))"""


def has_odd_quotes(text_sql: str) -> str:
    """SQL: whether a line holds an odd number of double quotes (it opens or
    closes a quoted field that spans lines, or its quote never closes)."""
    return f"""({text_sql} like '%"%' and {quote_count(text_sql)} % 2 = 1)"""


def _has_odd_quote_lines(con: duckdb.DuckDBPyConnection) -> bool:
    row = con.execute(
        f"""
        select exists (select 1 from _lines where {has_odd_quotes('"text"')})
            or exists (select 1 from _stage_rejects where {has_odd_quotes("_raw")})
        """
    ).fetchone()
    return bool(row and row[0])


def _stage_csv_by_reader(
    con: duckdb.DuckDBPyConnection, path: Path, columns: tuple[Column, ...], names: list[str]
) -> bool:
    """Stage with DuckDB's CSV reader; False (nothing staged) when its records
    are not the non-blank lines one to one."""
    spec = ", ".join(f"{literal(n)}: 'VARCHAR'" for n in names)
    with file_order(con):
        con.execute(
            f"""
            create temp table _csv as
            select * from read_csv({literal(str(path))},
                columns = {{{spec}}}, {CSV_DIALECT},
                store_rejects = true, rejects_table = '_csv_rej', rejects_scan = '_csv_scan')
            """
        )
    # Good records are the non-blank lines after the header that neither
    # reader rejected, in file order.
    con.execute(
        """
        create temp table _csv_numbers as
        select line_number as _line, "text" as _raw,
               row_number() over (order by line_number) as k
        from _lines
        where line_number > 1 and coalesce(trim("text"), '') <> ''
          and line_number not in (select line from _csv_rej)
          and line_number not in (select _line from _stage_rejects)
        """
    )
    row = con.execute(
        """
        select (select count(*) from _csv) = (select count(*) from _csv_numbers)
            and not exists (select 1 from _csv_rej where contains(csv_line, e'\\n'))
        """
    ).fetchone()
    if not (row and row[0]):
        _drop(con, "_csv", "_csv_numbers", "_csv_rej", "_csv_scan")
        return False
    con.execute(
        f"""
        create temp table _stage as
        select n._line, n._raw, {csv_record_fields(columns, names)}
        from (select *, rowid - (select min(rowid) from _csv) + 1 as k from _csv) as c
        join _csv_numbers as n using (k)
        """
    )
    con.execute(
        f"create temp table _csv_misquoted as select _line from _stage"
        f" where {misquoted_record('_raw')}"
    )
    con.execute(
        f"insert into _stage_rejects select _line, _raw, {literal(MALFORMED_QUOTES)}"
        " from _stage semi join _csv_misquoted using (_line)"
    )
    con.execute("delete from _stage where _line in (select _line from _csv_misquoted)")
    con.execute("drop table _csv_misquoted")
    con.execute(
        """
        insert into _stage_rejects
        select r.line, coalesce(l."text", any_value(r.csv_line)),
            'malformed CSV record: ' || min(r.error_message)
        from _csv_rej as r
        left join _lines as l on l.line_number = r.line
        where r.line not in (select _line from _stage_rejects)
        group by r.line, l."text"
        having coalesce(trim(any_value(r.csv_line)), '') <> ''
        """
    )
    return True


# RFC 4180 with '"' as quote and escape. A field is quoted (spaces around the
# quotes allowed, as DuckDB's reader allows them; not tabs, which it reads as
# text of an unquoted field) or holds no quote at all.
_QUOTED_FIELD = r' *"(?:[^"]|"")*" *'
_FIELD = rf'{_QUOTED_FIELD}|[^,"\n]*'
CSV_RECORD = f"(?:{_FIELD})(?:,(?:{_FIELD}))*"
"""A well-formed CSV record (a regular expression, for ``regexp_full_match``)."""
UNBALANCED_QUOTE = "unbalanced quote: the quoted field opened on this line never closes"
MALFORMED_QUOTES = (
    "malformed CSV record: a quote inside an unquoted field or text after a closing quote"
)


def misquoted_record(raw_sql: str) -> str:
    """SQL: whether a one-line CSV record DuckDB's reader took is not RFC 4180
    (a quote inside an unquoted field, ``Ac"me"``; text after a closing quote).

    The reader reads such a field as text; the SQL splitter, which the same
    record meets in a file that also has a quoted field spanning lines,
    rejects it. So the reader's records are checked too: one answer for a
    record whatever else its file holds. Only records holding a quote are
    matched against the pattern."""
    pattern = literal(CSV_RECORD)
    return f"""(contains({raw_sql}, '"') and not regexp_full_match({raw_sql}, {pattern}))"""


def csv_fields_sql(raw_sql: str) -> str:
    """SQL splitting a CSV record into its list of unquoted fields (empty = NULL);
    NULL when the record is not well-formed."""
    # In a well-formed record a field holding a quote is a quoted field.
    unquote = """nullif(case when strpos(x, '"') > 0
        then replace(trim(x, e' \\t')[2:-2], '""', '"') else x end, '')"""
    # Every token is a comma and a field; the record is well-formed when the
    # tokens cover it without a gap (one regular expression pass, no second
    # full match).
    token = literal(f",({_FIELD})")
    tokens = f"regexp_extract_all(',' || {raw_sql}, {token}, 1)"
    return f"""case
        when strpos({raw_sql}, '"') = 0
            then list_transform(string_split({raw_sql}, ','), x -> nullif(x, ''))
        else (select case when list_sum(list_transform(t, x -> strlen(x) + 1))
                              = strlen({raw_sql}) + 1
                          then list_transform(t, x -> {unquote}) end
              from (select {tokens} as t))
        end"""


def _stage_csv_records(
    con: duckdb.DuckDBPyConnection, columns: tuple[Column, ...], names: list[str]
) -> None:
    """Group physical lines into CSV records by quote parity, then split them in SQL.

    A line after the header starts a record when the quotes before it (from
    the record grouping's start) are even in number and it is not blank; the
    lines up to the next start belong to it (a quoted field spanning lines).
    When the count is odd at the end of the file, the last record's opening
    quote never closes: its first line is rejected alone ("unbalanced
    quote") and the lines after it are grouped afresh. Since that line holds
    an odd number of quotes, what follows it is balanced: one regrouping is
    always enough. Lines the line reader rejected take part with their text;
    a record holding one is rejected as a whole, with their reason.
    """
    con.execute(
        f"""
        create temp table _csv_lines as
        select line_number, "text", null::varchar as bad,
            {quote_count('"text"')} as q, coalesce(trim("text"), '') = '' as blank
        from _lines where line_number > 1
        union all
        select _line, _raw, reason, {quote_count("_raw")}, coalesce(trim(_raw), '') = ''
        from _stage_rejects where _line > 1
        """
    )
    row = con.execute(
        """
        select sum(q) % 2 = 1,
            max(line_number) filter (where before % 2 = 0 and not blank)
        from (select line_number, q, blank, coalesce(sum(q) over (order by line_number
                rows between unbounded preceding and 1 preceding), 0) as before
              from _csv_lines)
        """
    ).fetchone()
    unbalanced = int(row[1]) if row and row[0] and row[1] is not None else 0
    # Segment 0 is the lines before the unbalanced one, segment 1 those after.
    con.execute(
        f"""
        create temp table _csv_grouped as
        with w as (
            select *, line_number > {unbalanced} as seg,
                coalesce(sum(q) over (partition by line_number > {unbalanced}
                    order by line_number rows between unbounded preceding and 1 preceding),
                    0) % 2 = 0 as even_before
            from _csv_lines where line_number <> {unbalanced}
        ),
        s as (
            select *, even_before and not blank as is_start
            from w where not (even_before and blank)
        )
        select line_number, "text", bad, seg, is_start,
            sum(is_start::int) over (partition by seg order by line_number) as rec,
            not is_start or coalesce(not lead(is_start)
                over (partition by seg order by line_number), false) as multi
        from s
        """
    )
    # Most records are one line: only the others need grouping.
    con.execute(
        """
        create temp table _csv_records as
        select line_number as _line, line_number as _last, "text" as _raw, bad
        from _csv_grouped where not multi
        union all
        select min(line_number), max(line_number),
            string_agg(coalesce("text", ''), e'\\n' order by line_number),
            string_agg(distinct bad, '; ' order by bad)
        from _csv_grouped where multi
        group by seg, rec
        """
    )
    con.execute("drop table _csv_lines")
    if unbalanced:
        con.execute(
            """
            insert into _stage_rejects
            select line_number, "text", ? from _lines
            where line_number = ? and line_number not in (select _line from _stage_rejects)
            """,
            [UNBALANCED_QUOTE, unbalanced],
        )
    # A record holding a line the line reader rejected is rejected as a whole.
    con.execute(
        """
        delete from _stage_rejects where _line in (
            select g.line_number from _csv_grouped as g
            semi join (select seg, rec from _csv_grouped where multi and bad is not null) as b
                on b.seg = g.seg and b.rec = g.rec
            where g.multi)
        """
    )
    con.execute(
        """
        insert into _stage_rejects
        select _line, _raw, bad from _csv_records where bad is not null and _last > _line
        """
    )
    con.execute("drop table _csv_grouped")
    con.execute(
        f"""
        create temp table _csv_parsed as
        select _line, _raw, {csv_fields_sql("_raw")} as _vc_fields
        from _csv_records where bad is null
        """
    )
    con.execute("drop table _csv_records")
    width = len(names)
    con.execute(
        f"""
        insert into _stage_rejects
        select _line, _raw, case when _vc_fields is null then {literal(MALFORMED_QUOTES)}
            else 'malformed CSV record: Expected Number of Columns: {width} Found: '
                || len(_vc_fields) end
        from _csv_parsed
        where _vc_fields is null or len(_vc_fields) <> {width}
        """
    )
    fields = "".join(f", _vc_fields[{i + 1}] as {quote_ident(n)}" for i, n in enumerate(names))
    con.execute(
        f"""
        create temp table _stage as
        select c._vc_line as _line, c._vc_raw as _raw, {csv_record_fields(columns, names)}
        from (select _line as _vc_line, _raw as _vc_raw{fields} from _csv_parsed
              where len(_vc_fields) = {width}) as c
        """
    )
    con.execute("drop table _csv_parsed")


def csv_record_fields(columns: tuple[Column, ...], names: list[str]) -> str:
    """SQL selecting the declared columns and ``_extra`` from a CSV record ``c``
    whose file has the (unique) column ``names``."""
    declared = {c.name for c in columns}
    extras = [n for n in names if n not in declared]
    extra_sql = (
        "json_object(" + ", ".join(f"{literal(n)}, c.{quote_ident(n)}" for n in extras) + ")"
        if extras
        else "null::json"
    )

    def value(c: Column) -> str:
        return f"c.{quote_ident(c.name)}" if c.name in names else "null::varchar"

    selected = ", ".join(f"{value(c)} as {quote_ident(c.name)}" for c in columns)
    extra_sql = with_nulled_notes(columns, extra_sql, value)
    return f"{selected}, {extra_sql} as _extra"


def stage_jsonl(con: duckdb.DuckDBPyConnection, columns: tuple[Column, ...]) -> None:
    """Stage JSON Lines (one Call resource per line) from ``_lines``."""
    con.execute(
        f"""
        insert into _stage_rejects
        select line_number, "text", {JSONL_REJECT_REASON}
        from _lines
        where coalesce(trim("text"), '') <> ''
          and not {IS_JSON_OBJECT}
        """
    )
    _stage_json_records(
        con,
        columns,
        f"""
        select line_number as _line, "text" as _raw,
            case when json_valid("text") then "text" end::json as rec
        from _lines
        where coalesce(trim("text"), '') <> ''
          and {IS_JSON_OBJECT}
        """,
    )


def stage_json_page(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    columns: tuple[Column, ...],
    note: str,
    shown_as: str | None = None,
) -> int:
    """Stage a Twilio Calls list page (``{"calls": [...]}``).

    A page that is not valid JSON, or has no ``calls`` array, is one rejected
    record (it cannot be split into calls). Returns the records read.
    ``shown_as`` replaces ``path`` in reasons (a temporary copy's name means
    nothing once it is deleted, and would differ on every load).
    """
    try:
        con.execute(
            f"create temp table _page as select {without_bom('content')} as content"
            f" from read_text({literal(str(path))})"
        )
    except duckdb.Error as exc:
        message = str(exc).replace(str(path), shown_as) if shown_as else str(exc)
        con.execute(
            "insert into _stage_rejects values (1, null, ?)",
            [f"unreadable JSON page: {message}".splitlines()[0][:300]],
        )
        _stage_json_records(con, columns, _NO_RECORDS)
        return 1
    valid = con.execute(
        "select case when json_valid(content) then json_type(content, '$.calls') = 'ARRAY' end"
        " from _page"
    ).fetchone()
    if not (valid and valid[0]):
        reason = 'invalid JSON page: no parseable top-level "calls" array' + note
        con.execute(
            "insert into _stage_rejects select 1, left(content, 2000), ? from _page", [reason]
        )
        _stage_json_records(con, columns, _NO_RECORDS)
        return 1
    # One parse of the page: the array's elements, numbered by position.
    con.execute(
        """
        create temp table _page_items as
        select unnest(items) as rec, unnest(range(1, len(items) + 1)) as _line
        from (select json_extract(content, '$.calls[*]') as items from _page)
        """
    )
    con.execute(
        """
        insert into _stage_rejects
        select _line, rec::varchar, 'invalid call: not a JSON object'
        from _page_items where json_type(rec) <> 'OBJECT'
        """
    )
    _stage_json_records(
        con,
        columns,
        "select _line, rec::varchar as _raw, rec from _page_items where json_type(rec) = 'OBJECT'",
    )
    count = con.execute("select count(*) from _page_items").fetchone()
    return int(count[0]) if count else 0


def json_records(columns: tuple[Column, ...], records_sql: str, keep: str) -> str:
    """SQL turning JSON records (a ``rec`` column) into staged rows.

    Selects ``keep`` (other columns of ``records_sql``), one VARCHAR per
    declared column and ``_extra``. All declared fields come from one
    multi-path ``json_extract_string``: it parses each record once, where a
    ``->>`` per field would parse it once per field.
    """
    paths = "[" + ", ".join(literal(f'$."{c.name}"') for c in columns) + "]"
    selected = ", ".join(
        f"_vc_fields[{i + 1}] as {quote_ident(c.name)}" for i, c in enumerate(columns)
    )
    # json_merge_patch with nulls deletes the declared keys: what remains are
    # the fields the contract does not use, kept in the raw layer.
    drop_keys = "{" + ", ".join(f'"{c.name}": null' for c in columns) + "}"
    extra = f"nullif(json_merge_patch(rec, {literal(drop_keys)}), '{{}}')::json"
    index = {c.name: i + 1 for i, c in enumerate(columns)}
    extra = with_nulled_notes(columns, extra, lambda c: f"_vc_fields[{index[c.name]}]")
    return f"""
        select {keep}, {selected}, {extra} as _extra
        from (select *, json_extract_string(rec, {paths}) as _vc_fields from ({records_sql}))
    """


def _stage_json_records(
    con: duckdb.DuckDBPyConnection, columns: tuple[Column, ...], records_sql: str
) -> None:
    con.execute(f"create temp table _stage as {json_records(columns, records_sql, '_line, _raw')}")


def stage_registry_lines(
    con: duckdb.DuckDBPyConnection, registry: str, list_kind: str, e164_sql: str
) -> None:
    """Stage registry lines into ``_stage(_line, _raw, action, extra, e164_number)``.

    ``e164_sql`` turns the captured number field (a column named ``number``)
    into E.164, stored as its number (``registry_table``). Lines that match
    neither contract format are rejected.
    """
    con.execute(
        f"""
        create temp table _stage as
        with parsed as (
            select line_number as _line, "text" as _raw,
                {registry_line_fields(registry, list_kind)}
            from _lines
            where coalesce(trim("text"), '') <> ''
        )
        select _line, _raw, action, extra,
            {e164_number_sql(registry_e164(e164_sql))} as e164_number
        from parsed
        """
    )
    con.execute(
        f"""
        insert into _stage_rejects
        select _line, _raw, {REGISTRY_REJECT_REASON}
        from _stage where e164_number is null
        """
    )
    con.execute("delete from _stage where e164_number is null")


def registry_e164(e164_sql: str) -> str:
    """``e164_sql`` for a parsed registry line, NULL (rejected) when the line holds a NUL."""
    return f"case when not {has_nul('_raw')} then {e164_sql} end"


def _registry_regex(registry: str, list_kind: str) -> str:
    if registry in ("us_national", "ca_dncl"):
        number = r"(\d{3}\s*,?\s*\d{7})"
    else:
        number = r"(0[0-9 ]{8,14}[0-9])"
    if list_kind == "full":
        return literal(rf"^\s*{number}\s*$")
    return literal(rf"^\s*{number}\s*,\s*([AaDd])\s*(?:,(.*))?$")


def registry_number(registry: str, list_kind: str) -> str:
    """SQL: the number field of a registry line ``"text"`` (empty if malformed)."""
    return f'regexp_extract("text", {_registry_regex(registry, list_kind)}, 1)'


def registry_line_fields(registry: str, list_kind: str) -> str:
    """SQL parsing a registry line ``"text"`` into ``number, action, extra``.

    ``number`` is empty when the line matches neither contract format.
    """
    regex = _registry_regex(registry, list_kind)
    if list_kind == "changes":
        action = f'upper(regexp_extract("text", {regex}, 2))'
        extra = f"""nullif(regexp_extract("text", {regex}, 3), '')"""
    else:
        action, extra = "'L'", "null::varchar"
    return f"{registry_number(registry, list_kind)} as number, {action} as action, {extra} as extra"
