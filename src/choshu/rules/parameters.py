"""Loading and validating the dated legal parameters in ``choshu/rules/params/*.toml``.

Every value is one row per calendar year (or per effective-date window) with the URL of the
page it was taken from. The loader fails loudly — :class:`ParameterError` naming the file and
the row — on a gap between years, a duplicate year, a rate given as a float instead of a
decimal string, a value out of range, an unknown key or a missing ``source``. A year after the
last row raises :class:`RateNotKnownError`: the system never guesses next year's rate.

Adding next year's rate: append one ``[[year]]`` row with the announced value and its source
(see ``docs/rules.md``).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = [
    "DunningFeeTable",
    "FeeWindow",
    "ParameterError",
    "RateNotKnownError",
    "YearTable",
    "dunning_fee_table",
    "load_dunning_fee_table",
    "load_year_table",
    "year_table",
]

MAX_RATE = Decimal("14.6")


class ParameterError(ValueError):
    """A parameter file is malformed (gap, duplicate, bad value, missing source…)."""


class RateNotKnownError(LookupError):
    """No rate is configured for the requested year: add the year's row to the params file."""


def _fail(path: str, where: str, msg: str) -> ParameterError:
    return ParameterError(f"{path}: {where}: {msg}")


def _parse_rate(path: str, where: str, value: Any) -> Decimal:
    if not isinstance(value, str):
        raise _fail(path, where, f'rate must be a decimal string such as "2.4", got {value!r}')
    try:
        rate = Decimal(value)
    except InvalidOperation:
        raise _fail(path, where, f"not a decimal number: {value!r}") from None
    if not rate.is_finite() or rate < 0 or rate > MAX_RATE:
        raise _fail(path, where, f"rate {value} is outside 0..{MAX_RATE} (percent per year)")
    exponent = rate.as_tuple().exponent
    if not isinstance(exponent, int) or exponent < -3:
        raise _fail(path, where, f"rate {value} has more than 3 decimal places")
    return rate


def _check_source(path: str, where: str, row: Mapping[str, Any]) -> str:
    source = row.get("source")
    if not isinstance(source, str) or not source.startswith(("http://", "https://")):
        raise _fail(path, where, "every value needs a 'source' URL")
    return source


def _check_keys(path: str, where: str, row: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = set(row) - allowed
    if unknown:
        raise _fail(path, where, f"unknown keys {sorted(unknown)} (allowed: {sorted(allowed)})")


@dataclass(frozen=True, eq=False)
class YearTable:
    """Rates (percent per year, ``Decimal``) per calendar year, one or more named columns.

    ``statutory`` holds the 本則 rates that apply to every year before ``first_year`` (for the
    延滞金 table: 1999 and earlier); when it is ``None`` such years raise RateNotKnownError.
    """

    name: str
    article: str
    columns: tuple[str, ...]
    first_year: int
    last_year: int
    rates: Mapping[int, Mapping[str, Decimal]]
    sources: Mapping[int, str]
    statutory: Mapping[str, Decimal] | None = None
    statutory_source: str | None = None
    _cache: dict[tuple[int, str], Decimal] = field(default_factory=dict, compare=False, repr=False)

    def rate(self, year: int, column: str) -> Decimal:
        """The rate of ``column`` for days falling in calendar ``year``."""
        key = (year, column)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        if column not in self.columns:
            raise KeyError(f"{self.name}: no column {column!r} (have {self.columns})")
        if year < self.first_year:
            if self.statutory is None:
                raise RateNotKnownError(
                    f"{self.name}: no rate is configured for {year} (table starts in {self.first_year}); "
                    "give the rate explicitly or add the year to the params file"
                )
            value = self.statutory[column]
        elif year > self.last_year:
            raise RateNotKnownError(
                f"{self.name}: the rate for {year} is not known yet (table ends in {self.last_year}); "
                f"add a [[year]] row for {year} with its announced value and source"
            )
        else:
            value = self.rates[year][column]
        self._cache[key] = value
        return value

    def source(self, year: int) -> str:
        if year < self.first_year and self.statutory_source:
            return self.statutory_source
        return self.sources[year]


def parse_year_table(data: Mapping[str, Any], path: str = "<data>") -> YearTable:
    """Validate a year-table document (already parsed TOML) and build a :class:`YearTable`."""
    _check_keys(path, "top level", data, {"table", "statutory", "year"})
    meta = data.get("table")
    if not isinstance(meta, dict):
        raise _fail(path, "[table]", "missing [table] section")
    _check_keys(path, "[table]", meta, {"name", "article", "columns", "source", "derivation"})
    name, article, columns = meta.get("name"), meta.get("article"), meta.get("columns")
    if not isinstance(name, str) or not isinstance(article, str) or not article:
        raise _fail(path, "[table]", "'name' and 'article' are required strings")
    if not isinstance(columns, list) or not columns or not all(isinstance(c, str) for c in columns):
        raise _fail(path, "[table]", "'columns' must be a non-empty list of strings")
    _check_source(path, "[table]", meta)
    cols = tuple(columns)
    allowed = {"year", "source", "base_ratio", "note", *cols}

    statutory: dict[str, Decimal] | None = None
    statutory_source: str | None = None
    if "statutory" in data:
        st = data["statutory"]
        if not isinstance(st, dict):
            raise _fail(path, "[statutory]", "must be a table")
        _check_keys(path, "[statutory]", st, {"source", "note", *cols})
        statutory_source = _check_source(path, "[statutory]", st)
        statutory = {}
        for c in cols:
            if c not in st:
                raise _fail(path, "[statutory]", f"missing column {c!r}")
            statutory[c] = _parse_rate(path, "[statutory]", st[c])

    rows = data.get("year")
    if not isinstance(rows, list) or not rows:
        raise _fail(path, "[[year]]", "at least one [[year]] row is required")
    rates: dict[int, dict[str, Decimal]] = {}
    sources: dict[int, str] = {}
    for i, row in enumerate(rows, start=1):
        where = f"[[year]] row {i}"
        if not isinstance(row, dict):
            raise _fail(path, where, "must be a table")
        _check_keys(path, where, row, allowed)
        year = row.get("year")
        if not isinstance(year, int) or isinstance(year, bool) or not 1950 <= year <= 2200:
            raise _fail(path, where, f"'year' must be an integer calendar year, got {year!r}")
        where = f"[[year]] {year}"
        if year in rates:
            raise _fail(path, where, "duplicate year")
        values: dict[str, Decimal] = {}
        for c in cols:
            if c not in row:
                raise _fail(path, where, f"missing column {c!r}")
            values[c] = _parse_rate(path, where, row[c])
        if "base_ratio" in row and meta.get("derivation") == "tokurei_2014":
            _check_tokurei_2014(path, where, _parse_rate(path, where, row["base_ratio"]), values)
        rates[year] = values
        sources[year] = _check_source(path, where, row)
    years = sorted(rates)
    if years != list(rates):
        raise _fail(path, "[[year]]", "rows must be in ascending year order")
    for a, b in zip(years, years[1:], strict=False):
        if b != a + 1:
            raise _fail(path, "[[year]]", f"gap between {a} and {b}: every year needs a row")
    return YearTable(
        name=name,
        article=article,
        columns=cols,
        first_year=years[0],
        last_year=years[-1],
        rates=rates,
        sources=sources,
        statutory=statutory,
        statutory_source=statutory_source,
    )


def _check_tokurei_2014(path: str, where: str, base: Decimal, values: Mapping[str, Decimal]) -> None:
    """附則3条の2 (2014–): first month = min(7.3, 基準割合+1), after = min(14.6, 基準割合+7.3)."""
    expect = {
        "first_month": min(Decimal("7.3"), base + 1),
        "after": min(Decimal("14.6"), base + Decimal("7.3")),
    }
    for col, want in expect.items():
        if col in values and values[col] != want:
            raise _fail(
                path, where, f"{col} {values[col]} does not equal the derived {want} from base_ratio {base}"
            )


def _read(path: Path | str) -> tuple[dict[str, Any], str]:
    p = Path(path)
    with p.open("rb") as fh:
        try:
            return tomllib.load(fh), str(p)
        except tomllib.TOMLDecodeError as exc:
            raise ParameterError(f"{p}: not valid TOML: {exc}") from exc


def load_year_table(path: Path | str) -> YearTable:
    """Load and validate a year table from a TOML file."""
    data, name = _read(path)
    return parse_year_table(data, name)


def _bundled(name: str) -> Path:
    return Path(str(resources.files("choshu.rules.params").joinpath(name)))


@cache
def year_table(name: str) -> YearTable:
    """A bundled year table: ``late_charge``, ``refund_interest``, ``deferral`` or ``extension``."""
    return load_year_table(_bundled(f"{name}_rates.toml"))


# --- 督促手数料 (dunning fee) windows per municipality ------------------------------------------


@dataclass(frozen=True)
class FeeWindow:
    """A fee in force from ``start`` (inclusive) to the next window's start; 0 = abolished."""

    start: date
    yen: int
    source: str


@dataclass(frozen=True)
class DunningFeeTable:
    """督促手数料 per municipality (key = 6-digit code or name), with dated windows.

    ``basis`` says which date selects the window: ``issue_date`` (the 督促状 issue date, the
    default) or ``due_date`` (the 納期限 of the dunned installment, as 甲斐市 does).
    """

    windows: Mapping[str, tuple[FeeWindow, ...]]
    basis: Mapping[str, str]

    def fee(self, municipality: str, *, issued_on: date, due_date: date | None = None) -> int:
        if municipality not in self.windows:
            raise RateNotKnownError(
                f"no 督促手数料 is configured for municipality {municipality!r}; add it to dunning_fees.toml"
            )
        basis = self.basis[municipality]
        if basis == "due_date":
            if due_date is None:
                raise ValueError(f"{municipality}: the fee is keyed by 納期限; pass due_date")
            key = due_date
        else:
            key = issued_on
        chosen: FeeWindow | None = None
        for w in self.windows[municipality]:
            if w.start <= key:
                chosen = w
        if chosen is None:
            first = self.windows[municipality][0].start
            raise RateNotKnownError(
                f"{municipality}: no 督促手数料 is configured before {first.isoformat()} "
                f"(asked for {key.isoformat()})"
            )
        return chosen.yen


def parse_dunning_fee_table(data: Mapping[str, Any], path: str = "<data>") -> DunningFeeTable:
    _check_keys(path, "top level", data, {"table", "municipality"})
    rows = data.get("municipality")
    if not isinstance(rows, list):
        raise _fail(path, "[[municipality]]", "missing")
    windows: dict[str, tuple[FeeWindow, ...]] = {}
    basis: dict[str, str] = {}
    for i, row in enumerate(rows, start=1):
        where = f"[[municipality]] row {i}"
        if not isinstance(row, dict):
            raise _fail(path, where, "must be a table")
        _check_keys(path, where, row, {"key", "name", "basis", "window", "note"})
        key = row.get("key")
        if not isinstance(key, str) or not key:
            raise _fail(path, where, "'key' (6-digit code or name) is required")
        if key in windows:
            raise _fail(path, where, f"duplicate municipality {key!r}")
        b = row.get("basis", "issue_date")
        if b not in ("issue_date", "due_date"):
            raise _fail(path, where, "'basis' must be 'issue_date' or 'due_date'")
        wrows = row.get("window")
        if not isinstance(wrows, list) or not wrows:
            raise _fail(path, where, "at least one [[municipality.window]] is required")
        ws: list[FeeWindow] = []
        for j, w in enumerate(wrows, start=1):
            wwhere = f"{where} ({key}) window {j}"
            if not isinstance(w, dict):
                raise _fail(path, wwhere, "must be a table")
            _check_keys(path, wwhere, w, {"from", "yen", "source", "note"})
            start, yen = w.get("from", None if j == 1 else "missing"), w.get("yen")
            if start is None:
                # Only the first window may omit 'from': "in force since a date the sources do not
                # give"; it then needs a note saying so.
                if not w.get("note"):
                    raise _fail(path, wwhere, "a first window without 'from' needs a 'note' explaining why")
                start = date.min
            if not isinstance(start, date):
                raise _fail(path, wwhere, "'from' must be a TOML date (YYYY-MM-DD)")
            if not isinstance(yen, int) or isinstance(yen, bool) or not 0 <= yen <= 10_000:
                raise _fail(path, wwhere, f"'yen' must be an integer 0..10000, got {yen!r}")
            ws.append(FeeWindow(start=start, yen=yen, source=_check_source(path, wwhere, w)))
        for a, c in zip(ws, ws[1:], strict=False):
            if c.start <= a.start:
                raise _fail(path, where, "windows must be in strictly ascending 'from' order (no duplicates)")
        windows[key] = tuple(ws)
        basis[key] = b
    return DunningFeeTable(windows=windows, basis=basis)


def load_dunning_fee_table(path: Path | str) -> DunningFeeTable:
    data, name = _read(path)
    return parse_dunning_fee_table(data, name)


@cache
def dunning_fee_table() -> DunningFeeTable:
    return load_dunning_fee_table(_bundled("dunning_fees.toml"))
