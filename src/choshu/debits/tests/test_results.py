"""振替結果 (issue 17 §3, §4): the result file through the payment engine — code 0 paid on the debit
date, failures recorded with their meaning and a notice queued, mandates ended per settings, dunning
after a failure; every malformed or non-matching variant refused with nothing changed; balances and
verify-ledger agree with sums computed here."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from choshu.core.models import Job
from choshu.debits.models import DebitLine, FailureAction, LineStatus, Mandate, MandateStatus, NoticeState
from choshu.debits.requests import debit_request
from choshu.debits.services import debit_settings_set
from choshu.debits.tests.conftest import approved
from choshu.debits.tests.zengin_bytes import data_fields, put, result_file
from choshu.dunning.models import DunningSuppression
from choshu.dunning.services import dunning_fee_set, dunning_run
from choshu.formats.errors import FileRefused
from choshu.levies.models import Installment, LedgerEntry
from choshu.levies.verify import ledger_problems
from choshu.receipts.models import Channel, Payment
from choshu.receipts.services import payments_import

pytestmark = pytest.mark.django_db
D = date


@pytest.fixture
def sent(debit_city: Any, people: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    """The 5/31 request: 1002 (ゆうちょ, 10,800円) and 2001 (みずほ, 70,000円)."""
    approved(people, "2001", holder_name="キューポラ", start=D(2024, 5, 1))
    s = debit_request(municipality=debit_city, debit_date=D(2024, 5, 31), out_dir=tmp_path).as_dict()
    lines = {line.taxpayer.taxpayer_no: line for line in DebitLine.objects.select_related("taxpayer")}
    return {
        "raw": Path(s["files"][0]["path"]).read_bytes(),
        "lines": lines,
        "city": debit_city,
        "dir": tmp_path,
    }


def _import(sent: dict[str, Any], data: bytes, name: str = "result.txt") -> dict[str, Any]:
    path = sent["dir"] / name
    path.write_bytes(data)
    return payments_import(municipality=sent["city"], channel="zengin", path=path).as_dict()


def _codes(sent: dict[str, Any], **by_taxpayer: str) -> dict[str, str]:
    return {str(sent["lines"][no].pk): code for no, code in by_taxpayer.items()}


def test_mixed_codes_post_the_paid_and_record_the_failed(sent: dict[str, Any]) -> None:
    out = _import(sent, result_file(sent["raw"], _codes(sent, **{"1002": "0", "2001": "2"})))
    assert (out["posted"], out["amount_posted"], out["debit_collected"], out["debit_failed"]) == (
        1,
        10800,
        1,
        1,
    )
    assert out["debit_failed_amount"] == 70000 and out["debit_failed_by_code"] == {"2 預金取引なし": 1}
    paid, failed = (DebitLine.objects.get(pk=sent["lines"][n].pk) for n in ("1002", "2001"))
    p = Payment.objects.get()
    assert (p.channel, p.paid_on, p.booked_on, p.amount, p.reference) == (
        Channel.DIRECT_DEBIT, D(2024, 5, 31), D(2024, 5, 31), 10800, f"zengin:{paid.pk}"
    )  # fmt: skip
    assert (paid.status, paid.payment_id, paid.result_code) == (LineStatus.COLLECTED, p.pk, "0")
    assert (failed.status, failed.result_code, failed.notice) == (LineStatus.FAILED, "2", NoticeState.QUEUED)
    assert Installment.objects.get(pk=paid.installment_id).principal_outstanding == 0
    assert Installment.objects.get(pk=failed.installment_id).principal_outstanding == 70000
    m = Mandate.objects.get(pk=failed.mandate_id)
    assert (m.status, m.end) == (MandateStatus.ENDED, D(2024, 5, 31))  # code 2 ends it (default setting)
    assert not DunningSuppression.objects.filter(end__isnull=True).exists()
    # the ledger agrees with sums computed here, and verify-ledger finds nothing
    cash = sum(LedgerEntry.objects.filter(account="cash").values_list("amount", flat=True))
    assert cash == 10800
    _, problems = ledger_problems(municipality_id=sent["city"].pk)
    assert problems == []


def test_the_same_result_again_changes_nothing(sent: dict[str, Any]) -> None:
    data = result_file(sent["raw"], _codes(sent, **{"2001": "1"}))
    _import(sent, data)
    before = list(DebitLine.objects.order_by("pk").values_list("status", "result_code", "payment_id"))
    again = _import(sent, data, "again.txt")
    assert (again["already_imported"], again["posted"], again["debit_collected"], again["debit_failed"]) == (
        1,
        0,
        0,
        0,
    )
    assert again["file_already_imported"]
    assert list(DebitLine.objects.order_by("pk").values_list("status", "result_code", "payment_id")) == before
    assert Payment.objects.count() == 1


def test_settings_decide_whether_a_code_suspends_or_keeps_the_mandate(
    sent: dict[str, Any], people: dict[str, Any]
) -> None:
    debit_settings_set(actor=people["chief"], municipality=sent["city"], on_no_account=FailureAction.SUSPEND,
                       on_depositor_stop=FailureAction.KEEP, on_no_mandate=FailureAction.END)  # fmt: skip
    out = _import(sent, result_file(sent["raw"], _codes(sent, **{"1002": "3", "2001": "2"})))
    assert (out["mandates_suspended"], out["mandates_ended"]) == (1, 0)
    statuses = {
        line.taxpayer.taxpayer_no: Mandate.objects.get(pk=line.mandate_id).status
        for line in sent["lines"].values()
    }
    assert statuses == {"1002": MandateStatus.ACTIVE, "2001": MandateStatus.SUSPENDED}


def test_a_pending_debit_is_not_dunned_and_a_failed_one_is(sent: dict[str, Any]) -> None:
    dunning_fee_set(actor=None, municipality=sent["city"], valid_from=D(2024, 4, 1), yen=100, source="条例")
    inst = {no: line.installment_id for no, line in sent["lines"].items()}
    before = dunning_run(municipality=sent["city"], as_of=D(2024, 7, 15), today=D(2024, 7, 15), dry_run=True)
    assert before.suppressed == 2
    _import(sent, result_file(sent["raw"], _codes(sent, **{"2001": "1"})))
    run = dunning_run(municipality=sent["city"], as_of=D(2024, 7, 15), today=D(2024, 7, 15))
    assert run.suppressed == 0
    dunned = set(Installment.objects.filter(dunning_line__isnull=False).values_list("pk", flat=True))
    assert inst["2001"] in dunned and inst["1002"] not in dunned  # failed → dunned; collected → paid


def _swap_customer(n: int) -> Callable[[list[bytes]], list[bytes]]:
    return lambda recs: [put(recs[0], 92, f"{n:020d}"), *recs[1:]]


def _dup(recs: list[bytes]) -> list[bytes]:
    return [recs[0], recs[0], *recs[1:]]


def _amount(recs: list[bytes]) -> list[bytes]:
    return [put(recs[0], 81, f"{int(data_fields(recs[0])['amount']) + 1:010d}"), *recs[1:]]


def _account(recs: list[bytes]) -> list[bytes]:
    return [put(recs[0], 44, "7654320"), *recs[1:]]


def _bank(recs: list[bytes]) -> list[bytes]:
    return [put(recs[0], 2, "0005"), *recs[1:]]


@pytest.mark.parametrize(
    ("variant", "column"),
    [
        (lambda s: result_file(s, {}, edit=_swap_customer(999999)), "customer_no"),  # unknown 顧客番号
        (lambda s: result_file(s, {}, edit=_dup), "customer_no"),  # repeated 顧客番号
        (lambda s: result_file(s, {}, edit=_amount), "amount"),  # a different amount
        (lambda s: result_file(s, {}, edit=_account), "account"),  # a different account
        (lambda s: result_file(s, {}, edit=_bank), "account"),  # a different bank
        (lambda s: result_file(s, {})[:-124] + result_file(s, {})[-122:], None),  # 8 missing
        (lambda s: result_file(s, {}).replace(b"\r\n", b"\n"), None),  # LF only
        (lambda s: put(result_file(s, {}), 122 + 112, "5"), None),  # unassigned result code 5
        (lambda s: put(result_file(s, {}), 3 * 122 + 20, "000001"), None),  # 振替済件数 wrong
        (lambda s: put(result_file(s, {}), 3 * 122 + 8, "000000080801"), None),  # 合計金額 wrong
        (lambda s: put(result_file(s, {}), 2, "21"), None),  # 種別 21, not 91
        (lambda s: put(result_file(s, {}), 122 + 51, "ｧ"), None),  # small kana in a name
        (lambda s: put(result_file(s, {}), 55, "1332"), None),  # month 13
        (lambda s: s, None),  # the request itself: no result in it
        (lambda s: result_file(s, {})[:-3] + b"\r\n", None),  # truncated record
        (lambda s: b"", None),
    ],
)
def test_a_bad_or_unmatched_result_is_refused_whole(
    sent: dict[str, Any], variant: Any, column: str | None
) -> None:
    with pytest.raises(FileRefused) as refused:
        _import(sent, variant(sent["raw"]))
    if column is not None:
        assert column in {e.column for e in refused.value.errors}
    assert not Payment.objects.exists()
    assert set(DebitLine.objects.values_list("status", flat=True)) == {LineStatus.PENDING}
    assert DunningSuppression.objects.filter(end__isnull=True).count() == 2
    assert Job.objects.filter(kind=Job.Kind.IMPORT_PAYMENTS_ZENGIN).get().status == Job.Status.REFUSED


def test_a_result_for_a_voided_request_is_refused(sent: dict[str, Any]) -> None:
    data = result_file(sent["raw"], {})
    debit_request(municipality=sent["city"], debit_date=D(2024, 5, 31), out_dir=sent["dir"], regenerate=True)
    with pytest.raises(FileRefused, match="取り消されています"):
        _import(sent, data)
    assert not Payment.objects.exists()


def test_a_different_result_for_a_line_already_decided_is_refused(sent: dict[str, Any]) -> None:
    _import(sent, result_file(sent["raw"], _codes(sent, **{"2001": "1"})))
    with pytest.raises(FileRefused, match="別の振替結果"):
        _import(sent, result_file(sent["raw"], _codes(sent, **{"2001": "0"})), "other.txt")
    assert Payment.objects.count() == 1


def test_the_command_reads_the_zengin_channel(sent: dict[str, Any]) -> None:
    path = sent["dir"] / "r.txt"
    path.write_bytes(result_file(sent["raw"], _codes(sent, **{"2001": "1"})))
    out = StringIO()
    call_command("import_payments", "--channel", "zengin", str(path), "--json", stdout=out)
    d = json.loads(out.getvalue().strip().splitlines()[-1])
    assert (d["posted"], d["debit_failed"], d["debit_failed_by_code"]) == (1, 1, {"1 資金不足": 1})


def test_balances_and_verify_ledger_agree_with_sums_computed_here(sent: dict[str, Any]) -> None:
    _import(sent, result_file(sent["raw"], _codes(sent, **{"1002": "0", "2001": "1"})))

    def balances(no: str, as_of: str) -> dict[str, Any]:
        out = StringIO()
        call_command("balances", "--taxpayer", no, "--as-of", as_of, "--json", stdout=out)
        return dict(json.loads(out.getvalue().strip().splitlines()[-1]))

    # 1002: one installment of 10,800 collected on 5/31 → nothing outstanding from that day, all before it
    assert balances("1002", "2024-05-31")["totals"]["principal_outstanding"] == 0
    assert balances("1002", "2024-05-30")["totals"]["principal_outstanding"] == 10800
    # 2001: the failed 70,000 is still owed
    assert balances("2001", "2024-06-01")["totals"]["principal_outstanding"] == 70000
    out = StringIO()
    call_command("verify_ledger", "--json", stdout=out)
    report = json.loads(out.getvalue().strip().splitlines()[-1])
    assert report["ok"] is True and report["problems"] == []
