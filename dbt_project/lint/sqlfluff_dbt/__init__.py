"""What sqlfluff's jinja templater needs to render the dbt project without dbt.

``.sqlfluff`` loads this package as its ``library_path``: every public name
here is a global of the templates, next to sqlfluff's dbt builtins (``ref``,
``source``, ``config``, ``is_incremental``, ``this``, ``return``) and the
project's macros (``load_macros_from_path``). It stands in for the parts of
dbt's context the models and macros call: ``var`` (the real values of
``policy.yml``, so calling windows and clause settings render as in a build),
``adapter.dispatch`` (the project's ``duckdb__`` or ``default__`` macro),
``invocation_id``, and the cross-database macros ``dbt.*`` as DuckDB SQL.
It renders SQL of the same shape as dbt's for linting only; dbt itself
never reads it.
"""

from __future__ import annotations

import hashlib
import json
import sys
import types
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Environment, pass_context
from jinja2.runtime import Context, Macro
from sqlfluff.core.templaters.builtins.dbt import MacroReturn

# sqlfluff executes this package again for every file it lints: what must
# outlive one execution (the patches below, the caches) lives in one module
# object registered once.
_STATE = sys.modules.setdefault("_sqlfluff_dbt_state", types.ModuleType("_sqlfluff_dbt_state"))


def _invoke_returning(self: Macro, arguments: list[Any], autoescape: bool) -> Any:
    """dbt's ``return()`` ends the macro that calls it, whoever called that macro.

    sqlfluff catches ``return()`` only around macros called from a model, so a
    macro that calls another of its own file would end with the callee's
    value. dbt catches it around every macro call; so does this.
    """
    try:
        return _STATE.invoke(self, arguments, autoescape)
    except MacroReturn as returned:
        return returned.value


def _compile_once(
    self: Environment,
    source: Any,
    name: str | None = None,
    filename: str | None = None,
    raw: bool = False,
    defer_init: bool = False,
) -> Any:
    """Jinja's compile, kept per source: sqlfluff compiles every macro file
    twice for each SQL file it lints (most of its time on this project)."""
    if raw or not isinstance(source, str):
        return _STATE.compile(self, source, name, filename, raw, defer_init)
    key = (type(self), tuple(sorted(self.extensions)), source, name, filename, defer_init)
    if key not in _STATE.compiled:
        _STATE.compiled[key] = _STATE.compile(self, source, name, filename, raw, defer_init)
    return _STATE.compiled[key]


def _policy() -> dict[str, Any]:
    """``policy.yml``, read once."""
    if not hasattr(_STATE, "policy"):
        path = Path(__file__).resolve().parents[2] / "policy.yml"
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        _STATE.policy = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    return _STATE.policy


if not hasattr(_STATE, "invoke"):
    _STATE.invoke, _STATE.compile, _STATE.compiled = Macro._invoke, Environment.compile, {}
    Macro._invoke = _invoke_returning  # type: ignore[method-assign]
    Environment.compile = _compile_once  # type: ignore[method-assign]

execute = False
"""As when dbt parses: macros that query the warehouse render their fallback."""

invocation_id = "00000000-0000-0000-0000-000000000000"
"""``invocation_id``: dbt's id of the running command (a UUID)."""


def var(name: str, default: Any = None) -> Any:
    """``var()``: the value from ``policy.yml`` (dbt gets the file as ``--vars``)."""
    return _policy().get(name, default)


def tojson(value: Any, **kwargs: Any) -> str:
    """``tojson()`` of dbt's context."""
    return json.dumps(value, **kwargs)


def local_md5(value: str) -> str:
    """``local_md5()`` of dbt's context: the hex MD5 digest of a string."""
    return hashlib.md5(value.encode("utf-8")).hexdigest()


class _Adapter:
    """``adapter``: dispatch to the project's DuckDB macros; no warehouse."""

    @pass_context
    def dispatch(self, context: Context, name: str, macro_namespace: str | None = None) -> Any:
        """The ``duckdb__<name>`` macro, else ``default__<name>``, as dbt would pick."""
        for prefix in ("duckdb__", "default__"):
            macro = context.resolve_or_missing(prefix + name)
            if callable(macro):
                return macro
        raise LookupError(f"adapter.dispatch: no duckdb__ or default__ macro for {name!r}")

    def get_relation(self, **_: Any) -> None:
        """No relation exists: nothing is built while linting."""
        return None


adapter = _Adapter()


class _Exceptions:
    """``exceptions``: a compiler error fails the render (sqlfluff reports it)."""

    @staticmethod
    def raise_compiler_error(message: str) -> None:
        """Fail rendering with dbt's message."""
        raise RuntimeError(message)


exceptions = _Exceptions()


class _Column:
    """``api.Column``."""

    @staticmethod
    def translate_type(dtype: str) -> str:
        """The type name unchanged (DuckDB accepts the generic names)."""
        return dtype


class _Api:
    Column = _Column


api = _Api()


class _Target:
    """``target``: the profile's ``local`` output."""

    name = "local"
    type = "duckdb"
    schema = "main"
    database = "warehouse"


target = _Target()


class _Dbt:
    """``dbt.*``: the cross-database macros of dbt-adapters, rendered for DuckDB."""

    @staticmethod
    def cast(field: str, type_: str) -> str:
        return f"cast({field} as {type_})"

    @staticmethod
    def type_string() -> str:
        return "varchar"

    @staticmethod
    def type_int() -> str:
        return "integer"

    @staticmethod
    def type_bigint() -> str:
        return "bigint"

    @staticmethod
    def type_timestamp() -> str:
        return "timestamp"

    @staticmethod
    def type_numeric() -> str:
        return "numeric(28, 6)"

    @staticmethod
    def concat(fields: list[str]) -> str:
        return " || ".join(fields)

    @staticmethod
    def date_trunc(datepart: str, date: str) -> str:
        return f"date_trunc('{datepart}', {date})"

    @staticmethod
    def dateadd(datepart: str, interval: Any, from_date_or_timestamp: str) -> str:
        return f"date_add({from_date_or_timestamp}, interval ({interval}) {datepart})"

    @staticmethod
    def datediff(first_date: str, second_date: str, datepart: str) -> str:
        return f"date_diff('{datepart}', {first_date}, {second_date})"

    @staticmethod
    def bool_or(expression: str) -> str:
        return f"bool_or({expression})"

    @staticmethod
    def length(expression: str) -> str:
        return f"length({expression})"

    @staticmethod
    def listagg(
        measure: str, delimiter_text: str = "','", order_by_clause: str | None = None, **_: Any
    ) -> str:
        order = f" {order_by_clause}" if order_by_clause else ""
        return f"string_agg({measure}, {delimiter_text}{order})"

    @staticmethod
    def replace(field: str, old_chars: str, new_chars: str) -> str:
        return f"replace({field}, {old_chars}, {new_chars})"

    @staticmethod
    def split_part(string_text: str, delimiter_text: str, part_number: Any) -> str:
        return f"split_part({string_text}, {delimiter_text}, {part_number})"

    @staticmethod
    def string_literal(value: Any) -> str:
        return "'" + str(value).replace("'", "''") + "'"


dbt = _Dbt()


def config(**_: Any) -> str:
    """``config()`` renders nothing (the macros pass it hook SQL as text)."""
    return ""
