"""The parts of ``agree_script.py``'s state that the engine of issue 11 must leave as the code before it.

Before issue 11 an import's fast lane shared one transaction and one cash entry among the payments of a
領収日 × 日計日, so transactions are compared by what belongs to each payment: its own entries (other
than cash), the transaction's kind and dates. Everything else — payments, installments' caches,
suspense items, import summaries (refusals included), verify-ledger — is compared whole.

The golden file (``golden/before_issue11_seed11.json``) is ``projection`` of what ``agree_script.py
--seed 11`` printed on commit a28dbaa (the last commit before the engine), run with that commit's own
code (``levies_import`` without ``booking_date``, ``combined_slip_issue`` without ``issued_on``,
``_bank_line`` from ``test_fastlane``). If the script or its files change, make it again there.
"""

from __future__ import annotations

import json
from typing import Any


def projection(state: dict[str, Any]) -> dict[str, Any]:
    def own(payment: dict[str, Any], txn: dict[str, Any] | None) -> Any:
        if not txn:
            return None
        key = [payment["channel"], payment["reference"]]
        entries = sorted((e for e in txn["entries"] if e[0] != "cash" and e[4] == key), key=repr)
        return [entries, txn["kind"], txn["legal_date"], txn["booking_date"]]

    payments = []
    for p in state["payments"]:
        row = {k: v for k, v in p.items() if k not in ("txn", "reversal_txn")}
        row["own"], row["reversal"] = own(p, p.get("txn")), own(p, p.get("reversal_txn"))
        payments.append(row)
    return {
        "files": state["files"],
        "payments": sorted(payments, key=lambda r: json.dumps(r, sort_keys=True, ensure_ascii=False)),
        "installments": state["installments"],
        "suspense": state["suspense"],
        "imports": [{k: v for k, v in s.items() if k not in ("job_id", "phases")} for s in state["imports"]],
        "verify_ok": state["verify"]["ok"],
    }
