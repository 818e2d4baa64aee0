"""An independent minimal reader and editor of 種別91 files for the tests: byte slicing at the
positions of formats-reference §1.1 (1-based positions → ``rec[start-1:end]``), nothing from
``formats.zengin``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Parsed:
    header: bytes
    data: list[bytes]
    trailer: bytes
    end: bytes


def records(raw: bytes) -> list[bytes]:
    assert len(raw) % 122 == 0, "CRLF after every 120-byte record"
    out = []
    for i in range(0, len(raw), 122):
        rec, sep = raw[i : i + 120], raw[i + 120 : i + 122]
        assert sep == b"\r\n"
        out.append(rec)
    return out


def parse(raw: bytes) -> Parsed:
    recs = records(raw)
    assert recs[0][0:1] == b"1" and recs[-2][0:1] == b"8" and recs[-1][0:1] == b"9"
    assert all(r[0:1] == b"2" for r in recs[1:-2])
    return Parsed(recs[0], recs[1:-2], recs[-2], recs[-1])


def field(rec: bytes, start: int, end: int) -> str:
    return rec[start - 1 : end].decode("cp932")


def data_fields(rec: bytes) -> dict[str, str]:
    return {
        "bank": field(rec, 2, 5), "bank_name": field(rec, 6, 20), "branch": field(rec, 21, 23),
        "branch_name": field(rec, 24, 38), "dummy": field(rec, 39, 42), "type": field(rec, 43, 43),
        "account": field(rec, 44, 50), "holder": field(rec, 51, 80), "amount": field(rec, 81, 90),
        "new_code": field(rec, 91, 91), "customer_no": field(rec, 92, 111), "result": field(rec, 112, 112),
        "tail": field(rec, 113, 120),
    }  # fmt: skip


def put(rec: bytes, start: int, value: str) -> bytes:
    b = value.encode("cp932")
    return rec[: start - 1] + b + rec[start - 1 + len(b) :]


def result_file(
    raw: bytes, codes: dict[str, str], *, edit: Callable[[list[bytes]], list[bytes]] | None = None
) -> bytes:
    """The bank's answer to request ``raw``: each record's 振替結果コード from ``codes`` (顧客番号 →
    code, default ``0``); ``edit`` may change the data records; the trailer's totals are recomputed."""
    p = parse(raw)
    data = [put(rec, 112, codes.get(data_fields(rec)["customer_no"].lstrip("0"), "0")) for rec in p.data]
    if edit is not None:
        data = edit(data)
    paid = [0, 0]
    failed = [0, 0]
    for rec in data:
        f = data_fields(rec)
        bucket = paid if f["result"] == "0" else failed
        bucket[0] += 1
        bucket[1] += int(f["amount"])
    totals = f"{paid[0] + failed[0]:06d}{paid[1] + failed[1]:012d}"
    trailer = put(p.trailer, 2, totals + f"{paid[0]:06d}{paid[1]:012d}{failed[0]:06d}{failed[1]:012d}")
    return b"".join(r + b"\r\n" for r in [p.header, *data, trailer, p.end])
