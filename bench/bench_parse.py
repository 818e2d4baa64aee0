"""Micro-benchmark of the payment-file parser: µs per row for ``bank`` and ``conveni`` files.

Usage: ``python bench/bench_parse.py [--rows N] [--repeat R] [--channels bank,conveni] [--baseline REV]``
(default 500,000 rows, best of 3). Plain script: it puts ``src/`` on the path itself.

The files are synthetic but valid: distinct slip numbers with their check digits, printed codes
from ``slip_codes`` (barcode and lower OCR line), a few dozen distinct dates, every tax item, with
and without 支払期限, ユーザー使用欄 filled on half the conveni rows and the コンビニ名 quoted on a
third — so the figures are those of a real file, not of one cached line. For each channel it prints:

* ``before``: with ``--baseline REV``, ``stream_payment_file`` of the parser at git revision ``REV``
  (``payments.py`` and ``csvfile.py`` as they were there); without, the row-by-row reference path
  (``_parse_<channel>_reference``) after the line-by-line CP932 check ``decode_strict`` used to run;
* ``stream``: ``stream_payment_file`` with its records consumed and dropped (what the importer does);
* ``parse``: ``parse_payment_file`` (all records kept in a tuple).

Before timing it checks that the fast lane yields exactly the reference's records (and the
baseline's, if given).
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import hashlib
import random
import subprocess
import sys
import time
import types
from collections import deque
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from itertools import zip_longest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from choshu.formats import csvfile, payments  # noqa: E402
from choshu.formats.errors import RowError  # noqa: E402
from choshu.formats.payments import (  # noqa: E402
    BANK_HEADER,
    CONVENI_HEADER,
    ChannelSettings,
    PaymentRecord,
    parse_payment_file,
    stream_payment_file,
)
from choshu.formats.slipcodes import slip_codes  # noqa: E402
from choshu.rules.check_digits import make_slip_no  # noqa: E402

SETTINGS = ChannelSettings(
    conveni_company_code="912345", conveni_client_code="11203", eltax_agency_no="11203"
)
CHAINS = ("010", "セブンイレブン"), ("020", "ローソン"), ("030", "ファミリーマート"), ("040", "ミニストップ")
TAX_ITEMS = ("01", "02", "03", "04", "05", "06")


def make_files(rows: int) -> dict[str, bytes]:
    """A bank file (UTF-8) and a conveni file of 確報 (CP932, like the 収納代行's), ``rows`` rows each."""
    rng = random.Random(7)
    bank = [",".join(BANK_HEADER)]
    conveni = [",".join(CONVENI_HEADER)]
    for i in range(rows):
        amount = rng.randint(100, 999_999)
        codes = slip_codes(
            slip_no=make_slip_no(f"2025{i:011d}"),
            confirmation_no=f"{rng.randrange(10_000):04d}",
            amount=amount,
            pay_by=date(2025, 5 + i % 3, 30) if i % 4 else None,
            tax_item=TAX_ITEMS[i % 6],
            company_code=SETTINGS.conveni_company_code,
            client_code=SETTINGS.conveni_client_code,
            agency_no=SETTINGS.eltax_agency_no,
        )
        paid = date(2025, 6, 1) + timedelta(days=i % 30)
        booked = paid + timedelta(days=1 + i % 3)
        bank.append(
            f"{codes.ocr_lower},{amount},{paid.isoformat()},{1 + i % 7:04d},{i % 900 + 100:03d},{booked.isoformat()}"
        )
        digits = codes.barcode
        users = f"{digits[13:19]},{digits[19:30]}" if i % 2 else ","
        chain, name = CHAINS[i % len(CHAINS)]
        name = f'"{name}"' if i % 3 == 0 else name
        d, b = paid.strftime("%Y%m%d"), booked.strftime("%Y%m%d")
        conveni.append(
            f"02,{d},{i % 24:02d}{i % 60:02d},EAN{digits},{users},0,{amount},{chain},{name},{i:07d},{b},{b}"
        )
    return {
        "bank": ("\r\n".join(bank) + "\r\n").encode("utf-8"),
        "conveni": ("\r\n".join(conveni) + "\r\n").encode("cp932"),
    }


def decode_before(data: bytes) -> str:
    """``decode_strict`` as it was: CP932 files checked line by line (``_check_cp932_lines``)."""
    hashlib.sha256(data).hexdigest()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        csvfile._check_cp932_lines(data, "")
        return data.decode("cp932")


_Reference = Callable[[str, ChannelSettings, list[RowError], str], Iterator[PaymentRecord]]


def reference(channel: str) -> _Reference:
    parser: _Reference = getattr(payments, f"_parse_{channel}_reference")
    return parser


def load_baseline(rev: str) -> types.ModuleType:
    """``payments`` as it was at git revision ``rev``, with its ``csvfile`` of then."""
    root = Path(__file__).resolve().parents[1]

    def source(path: str) -> str:
        return subprocess.run(
            ["git", "show", f"{rev}:{path}"], cwd=root, check=True, capture_output=True, text=True
        ).stdout

    modules = {}
    for name, path in (
        ("csvfile", "src/choshu/formats/csvfile.py"),
        ("payments", "src/choshu/formats/payments.py"),
    ):
        text = source(path).replace("from choshu.formats.csvfile import", "from _baseline_csvfile import")
        module = types.ModuleType(f"_baseline_{name}")
        sys.modules[module.__name__] = module  # dataclasses look their module up
        exec(compile(text, f"{rev}:{path}", "exec"), module.__dict__)  # noqa: S102 - our own source
        modules[name] = module
    return modules["payments"]


def check_same(channel: str, data: bytes, baseline: types.ModuleType | None) -> None:
    """The fast lane yields what the reference path yields — and, given a baseline, what the parser
    at that revision yields (compared by ``repr``: its classes are others of the same name)."""
    stream = stream_payment_file(data, channel, settings=SETTINGS)
    ref_errors: list[RowError] = []
    ref = reference(channel)(csvfile.decode_strict(data).text, SETTINGS, ref_errors, "")
    old: Iterator[object] = iter(())
    if baseline is not None:
        old_settings = baseline.ChannelSettings(**dataclasses.asdict(SETTINGS))
        old_stream = baseline.stream_payment_file(data, channel, settings=old_settings)
        old = old_stream.records
    for n, (a, b, c) in enumerate(zip_longest(stream.records, ref, old)):
        if a != b or (baseline is not None and repr(a) != repr(c)):
            raise SystemExit(f"{channel}: record {n} differs:\n  {a}\n  {b}\n  {c}")
    if stream.errors or ref_errors or (baseline is not None and old_stream.errors):
        raise SystemExit(f"{channel}: the file is not valid: {stream.errors[:3]} / {ref_errors[:3]}")


def best_of(repeat: int, runs: dict[str, Callable[[], object]]) -> dict[str, float]:
    """The best time of each run over ``repeat`` rounds, the runs taking turns (so that a busy spell
    of the machine slows them alike)."""
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(repeat):
        for name, run in runs.items():
            gc.collect()
            started = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--channels", default="bank,conveni")
    parser.add_argument("--baseline", help="git revision whose parser is timed as 'before'")
    args = parser.parse_args()
    channels = args.channels.split(",")
    baseline = load_baseline(args.baseline) if args.baseline else None
    started = time.perf_counter()
    files = make_files(args.rows)
    print(f"{args.rows:,} rows per file generated in {time.perf_counter() - started:.1f} s", flush=True)
    for channel in channels:
        data = files[channel]
        check_same(channel, data, baseline)
        ref = reference(channel)

        def before(data: bytes = data, ref: _Reference = ref, channel: str = channel) -> None:
            if baseline is None:
                deque(ref(decode_before(data), SETTINGS, [], ""), maxlen=0)
            else:
                old = baseline.ChannelSettings(**dataclasses.asdict(SETTINGS))
                deque(baseline.stream_payment_file(data, channel, settings=old).records, maxlen=0)

        def stream(data: bytes = data, channel: str = channel) -> None:
            deque(stream_payment_file(data, channel, settings=SETTINGS).records, maxlen=0)

        def parse(data: bytes = data, channel: str = channel) -> None:
            parse_payment_file(data, channel, settings=SETTINGS)

        best = best_of(args.repeat, {"before": before, "stream": stream, "parse": parse})
        figures = {name: seconds / args.rows * 1e6 for name, seconds in best.items()}
        print(
            f"{channel:8s} before {figures['before']:6.2f} µs/row   stream {figures['stream']:5.2f} µs/row "
            f"({figures['before'] / figures['stream']:.1f}×)   parse {figures['parse']:5.2f} µs/row",
            flush=True,
        )


if __name__ == "__main__":
    main()
