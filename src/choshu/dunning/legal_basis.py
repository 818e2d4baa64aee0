"""The articles a 督促状 cites, per tax item: the 督促 itself and the 滞納処分 (差押え) that follows.

law.md §b: 法329条1項 (督促) and 法331条1項1号 (差押え) for 市町村民税 — 個人住民税 (普通徴収・特別徴収)
and 法人住民税. The other items have parallel articles in their own chapters; where law.md does not
confirm the number, the notice names the law without an article rather than print a wrong one:

* 固定資産税 法371条 (督促) · 法373条 (滞納処分); 都市計画税 follows 固定資産税 (法702条の8) — the
  numbers are the well-known ones, their text was not read here (UNCONFIRMED, like law.md's list).
* 軽自動車税（種別割） 法463条の25 (督促): cited that way on 文京区's published 督促状 explanation
  (http://www.city.bunkyo.lg.jp/tetsuzuki/zeimu/juminzei-nozei/nouzeigaokuretatoki/tokusokujyo.html);
  its 滞納処分 article is UNCONFIRMED (not printed).
* 事業所税, 国民健康保険税 and any item a city adds: UNCONFIRMED — 「地方税法の規定」 only.

A city whose notices cite other articles (an ordinance, a corrected number) changes this table.
"""

from __future__ import annotations

from dataclasses import dataclass

LAW = "地方税法"


@dataclass(frozen=True)
class LegalBasis:
    dunning: str  # 督促 (e.g. 「地方税法第329条第1項」)
    seizure: str  # 滞納処分 (e.g. 「地方税法第331条第1項第1号」)


_RESIDENT = LegalBasis(f"{LAW}第329条第1項", f"{LAW}第331条第1項第1号")
_BY_ITEM: dict[str, LegalBasis] = {
    "01": _RESIDENT,
    "02": _RESIDENT,
    "03": _RESIDENT,
    "04": LegalBasis(f"{LAW}第371条第1項（都市計画税は第702条の8）", f"{LAW}第373条第1項第1号"),
    "05": LegalBasis(f"{LAW}第463条の25第1項", f"{LAW}の規定"),
}
_UNKNOWN = LegalBasis(f"{LAW}の規定", f"{LAW}の規定")


def legal_basis(tax_item: str) -> LegalBasis:
    """The articles printed on a 督促状 of ``tax_item`` (the law without article when not confirmed)."""
    return _BY_ITEM.get(tax_item, _UNKNOWN)
