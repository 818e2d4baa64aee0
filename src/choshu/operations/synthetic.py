"""A synthetic city (``choshu seed``): deterministic, realistic, and fast enough for 1,000,000 people.

Names come from Faker's ja_JP data (kanji with matching katakana), addresses from 川口市's real town
names, My Numbers and corporate numbers are unique with valid check digits. Levies cover the six tax
items and 国民健康保険税 over the last six levy years on the statutory 納期 calendar (holiday-shifted,
``rules.due_dates``; 国保税 on the default 期別マスタ of ``levies.tax_items``). Most installments are paid,
some partly or late, about 5–8 % stay delinquent. Installments of 法人住民税, 固定資産税・都市計画税 and
国保税 carry their breakdown (均等割/法人税割, 固定資産税/都市計画税 at 1.4 : 0.3, 医療/支援/介護) and
their payments the splits of ``rules.breakdown`` — what ``levies.ledger`` would have stored.

The standard's related records (issue 12) are shown by a few people in every block of ``BLOCK``
taxpayers (the first block starts at 宛名番号 1, so even a city of a few dozen has each kind): people
under 支援措置, 送付先 for one tax item and for all, a 納税管理人 of a person abroad, co-ownerships
holding 固定資産税, a deceased person with heirs, 特別徴収義務者 with their employees, and a
法人住民税 filed late (法定納期限 before the 納期限). ``showcase`` finds them in a seeded city.

Everything is written set-based (``core.bulk``): ids are reserved, rows are built in memory per chunk
of taxpayers and inserted with COPY (PostgreSQL) or executemany (SQLite). The ledger is written
exactly as the services would: one 調定 transaction per levy, one 収納 transaction per payment, each
summing to zero, and the installments' cached amounts equal their entries.
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import random
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

from django.db import connections, transaction
from django.db.models import F, Q
from faker.providers.company.ja_JP import Provider as CompanyProvider
from faker.providers.person.ja_JP import Provider as PersonProvider
from stdnum.jp import cn as corporate_number
from stdnum.jp import in_ as my_number

from choshu.core.bulk import analyze, insert_rows, reserve_ids, reset_sequences
from choshu.core.models import Job, Municipality
from choshu.levies.ledger import ENTRY_COLUMNS, TXN_COLUMNS, insert_generated
from choshu.levies.models import (
    Account,
    BreakdownSplit,
    Component,
    Installment,
    InstallmentBreakdown,
    LedgerEntry,
    LedgerTransaction,
    Levy,
    TxnKind,
)
from choshu.levies.tax_items import DEFAULT_TAX_ITEMS, calendar_rows
from choshu.receipts.models import Channel, Payment, PaymentStatus
from choshu.rules.breakdown import split_movement, split_paid
from choshu.rules.check_digits import make_slip_no
from choshu.rules.due_dates import shift_due_date, statutory_due_dates
from choshu.taxpayers import protection
from choshu.taxpayers.crypto import encrypt_my_number, my_number_hash
from choshu.taxpayers.models import (
    CoOwner,
    Heir,
    MailingAddress,
    Representative,
    RepresentativeRole,
    SpecialCollectionEmployee,
    SpecialCollector,
    Taxpayer,
    TaxpayerKind,
    TaxpayerRevision,
)
from choshu.taxpayers.normalize import address_key, kana_key, name_key, phone_key

CHUNK = 5000

# 川口市 town names with their postal codes (日本郵便 postal code list for 川口市).
TOWNS: tuple[tuple[str, str, str], ...] = (
    ("本町", "ホンチョウ", "3320012"), ("栄町", "サカエチョウ", "3320017"), ("幸町", "サイワイチョウ", "3320016"),
    ("金山町", "カナヤマチョウ", "3320015"), ("川口", "カワグチ", "3320021"), ("西川口", "ニシカワグチ", "3320021"),
    ("並木", "ナミキ", "3320034"), ("元郷", "モトゴウ", "3320011"), ("青木", "アオキ", "3320031"),
    ("前川", "マエカワ", "3330842"), ("芝", "シバ", "3330866"), ("芝新町", "シバシンマチ", "3330851"),
    ("蕨", "ワラビ", "3330800"), ("東川口", "ヒガシカワグチ", "3330801"), ("戸塚", "トツカ", "3330811"),
    ("戸塚東", "トツカヒガシ", "3330802"), ("安行領家", "アンギョウリョウケ", "3340855"), ("安行", "アンギョウ", "3340878"),
    ("新井宿", "アライジュク", "3340057"), ("赤山", "アカヤマ", "3340866"), ("石神", "イシガミ", "3340851"),
    ("差間", "サシマ", "3330803"), ("神戸", "ゴウド", "3340861"), ("源左衛門新田", "ゲンザエモンシンデン", "3340872"),
    ("鳩ヶ谷本町", "ハトガヤホンチョウ", "3340002"), ("南鳩ヶ谷", "ミナミハトガヤ", "3340013"),
    ("里", "サト", "3340003"), ("坂下町", "サカシタチョウ", "3340001"), ("三ツ和", "ミツワ", "3340011"),
    ("領家", "リョウケ", "3320004"), ("飯塚", "イイヅカ", "3320023"), ("末広", "スエヒロ", "3320006"),
    ("朝日", "アサヒ", "3320001"), ("芝中田", "シバナカダ", "3330848"), ("上青木", "カミアオキ", "3330844"),
)  # fmt: skip
CITY = "埼玉県川口市"
BUILDINGS = ("", "", "", "", "コーポ", "ハイツ", "レジデンス", "マンション", "荘")

LAST = list(PersonProvider.last_name_pairs.keys())  # (kanji, kana, romaji), weighted by frequency
LAST_CUM = list(itertools.accumulate(float(w) for w in PersonProvider.last_name_pairs.values()))
FIRST_F = list(PersonProvider.first_name_female_pairs)
FIRST_M = list(PersonProvider.first_name_male_pairs)
CORP_WORDS = (
    "川口",
    "キューポラ",
    "荒川",
    "グリーン",
    "鋳物",
    "安行",
    "サクラ",
    "東洋",
    "日栄",
    "丸新",
    "大和",
    "光陽",
)
CORP_WORDS_KANA = ("カワグチ", "キューポラ", "アラカワ", "グリーン", "イモノ", "アンギョウ", "サクラ", "トウヨウ", "ニチエイ",
                   "マルシン", "ダイワ", "コウヨウ")  # fmt: skip
CORP_KINDS = (("建設", "ケンセツ"), ("工業", "コウギョウ"), ("商事", "ショウジ"), ("製作所", "セイサクショ"),
              ("運輸", "ウンユ"), ("不動産", "フドウサン"), ("食品", "ショクヒン"), ("電機", "デンキ"))  # fmt: skip
CORP_FORMS = tuple(
    zip(
        CompanyProvider.company_prefixes,
        ("カブシキガイシャ", "ユウゲンガイシャ", "ゴウドウガイシャ"),
        strict=True,
    )
)
PAY_CHANNELS = (Channel.CONVENI, Channel.CONVENI, Channel.BANK, Channel.DIRECT_DEBIT, Channel.ELTAX)
BREAKDOWN_CODES = {
    spec.code: tuple(code for code, _, _ in spec.breakdown) for spec in DEFAULT_TAX_ITEMS if spec.breakdown
}
PER_CAPITA = (50000, 50000, 50000, 120000, 130000, 160000, 410000)  # 法人 均等割 by size (地方税法312条)

# --- the standard's related records (issue 12): a few people in every block of BLOCK taxpayers ------
BLOCK = 2500
"""Every block of this many taxpayers (the first from index 0) holds one set of the people below."""
HELPER = (
    "helper"  # an ordinary living resident individual the others point at (co-owner, heir, agent, employee)
)
PROTECTED = "protected"  # 支援措置, open-ended
PROTECTED_UNTIL = "protected_until"  # 支援措置 with an end date ahead
PROTECTED_ENDED = "protected_ended"  # 支援措置 that has ended
MAIL_ITEM = "mail_item"  # a 送付先 for 軽自動車税 (05) only
MAIL_ALL = "mail_all"  # a 送付先 for every tax item (00)
ABROAD = "abroad"  # lives abroad (住登外), a 納税管理人 receives the documents; owns property here
CO_OWNERSHIP = "co_ownership"  # a 宛名 of kind 共有 holding 固定資産税
DECEASED = "deceased"  # died; heirs with a 相続人代表者
COLLECTOR = "collector"  # a corporation designated 特別徴収義務者 (its 02 levies are its own)
LATE_FILER = "late_filer"  # a corporation whose 法人住民税 of last year was filed late
CORPORATE_ROLES = frozenset({COLLECTOR, LATE_FILER})
SHOWCASE: dict[int, str] = {
    0: HELPER, 1: HELPER, 2: HELPER, 3: PROTECTED, 4: PROTECTED_ENDED, 5: MAIL_ITEM, 6: MAIL_ALL, 7: ABROAD,
    8: CO_OWNERSHIP, 9: DECEASED, 10: COLLECTOR, 11: LATE_FILER, 12: PROTECTED_UNTIL, 13: COLLECTOR,
}  # fmt: skip
"""Offset in the block → role. Everyone a record points at sits at a smaller offset (an earlier chunk or
the same one), so every reference is to a 宛名 already written."""
CO_OWNERS = {8: (0, 1, 2)}  # co-ownership → members, the representative first (2 in odd blocks)
HEIRS = {9: (1, 0)}  # deceased → heirs, the representative first
AGENTS = {7: 2}  # person abroad → 納税管理人
EMPLOYEES = {10: (5, 6), 13: (0, 1, 2)}  # 特別徴収義務者 → its employees
MAIL_ITEM_TAX_ITEM = "05"
FILING_FINAL = "1"  # 申告区分 of the seed: 1 = 確定申告 (in time), 2 = 期限後申告
FILING_LATE = "2"
SEED_REASON = "合成データ(seed)"
ELSEWHERE = (  # 送付先 outside the city (勤務先, 家族, 施設)
    ("1200034", "東京都足立区千住", "単身赴任先"),
    ("3300063", "埼玉県さいたま市浦和区高砂", "家族方"),
    ("3400011", "埼玉県草加市栄町", "施設入所"),
    ("1700013", "東京都豊島区東池袋", "勤務先"),
)


def showcase_role(index: int) -> str:
    """The role of the taxpayer at ``index`` (0-based) in the synthetic city, or ``""``."""
    return SHOWCASE.get(index % BLOCK, "")


@dataclass
class SeedSummary:
    taxpayers: int = 0
    corporations: int = 0
    levies: int = 0
    installments: int = 0
    payments: int = 0
    delinquent_installments: int = 0
    due_installments: int = 0
    amount_levied: int = 0
    amount_paid: int = 0
    related: dict[str, int] = field(default_factory=dict)  # records of issue 12's showcase, by kind
    extra: dict[str, object] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        d = {k: v for k, v in self.__dict__.items() if k != "extra"}
        d["related"] = dict(sorted(self.related.items()))
        d["delinquent_share"] = (
            round(self.delinquent_installments / self.due_installments, 4) if self.due_installments else 0
        )
        return {**d, **self.extra}


@lru_cache(maxsize=256)
def _due_dates(tax_item: str, year: int) -> tuple[date, ...]:
    if tax_item == "07":  # 国保税: the default 期別マスタ (not a 市税 of rules.due_dates)
        return tuple(due for _, _, _, due in calendar_rows(tax_item, year))  # type: ignore[misc]
    return tuple(shifted for _, shifted in statutory_due_dates(tax_item, year))


def split_annual(amount: int, parts: int) -> list[int]:
    """Split an annual tax into 期: later 期 in whole 1,000 yen, the fraction on the first (common practice)."""
    if parts == 1:
        return [amount]
    later = (amount // parts) // 1000 * 1000
    return [amount - later * (parts - 1)] + [later] * (parts - 1)


def seed_notice_no(year: int, tax_item: str, counter: int) -> str:
    """通知書番号 of a synthetic levy: year (2) + tax item (2) + 8-digit counter = 12 digits (10^8 levies)."""
    if not 0 < counter < 10**8:
        raise ValueError(f"notice counter out of range: {counter}")
    return f"{year % 100:02d}{tax_item}{counter:08d}"


def seed_slip_no(seed: int, counter: int, installment_no: int) -> str:
    """納付番号 of a synthetic installment: `1` + seed (2) + levy counter (10) + 期 (2) + check digit.

    Unique for every levy and 期 of a run; the leading `1` keeps clear of the system's `8`/`9` numbers.
    """
    return make_slip_no(f"1{seed % 100:02d}{counter:010d}{installment_no:02d}")


@dataclass(frozen=True)
class LevyExtra:
    """The standard's keys and dates a synthetic levy may carry beyond the common ones."""

    collector: tuple[int, str] | None = None  # (SpecialCollector id, 特別徴収義務者指定番号)
    filing_type: str = ""  # 申告区分
    business_year: tuple[date | None, date | None] = (None, None)  # 事業年度 開始日, 終了日
    filed: date | None = (
        None  # a late return's filing day: its 納期限 (the 法定納期限 stays the statutory one)
    )


class _Ids:
    def __init__(self) -> None:
        self.next = {
            m: reserve_ids(m)
            for m in (Taxpayer, TaxpayerRevision, Levy, Installment, LedgerTransaction, LedgerEntry, Payment,
                      InstallmentBreakdown, BreakdownSplit, SpecialCollector, SpecialCollectionEmployee,
                      MailingAddress, Representative, CoOwner, Heir)
        }  # fmt: skip

    def take(self, model: Any) -> int:
        value = self.next[model]
        self.next[model] = value + 1
        return value


class CityGenerator:
    """Builds the rows of one chunk of taxpayers; ``seed`` makes every run identical."""

    def __init__(
        self, municipality: Municipality, *, seed: int, as_of: date, job: Job, paid_until: date | None = None
    ) -> None:
        self.m = municipality
        self.seed = seed
        self.as_of = as_of
        self.paid_until = as_of if paid_until is None else min(paid_until, as_of)
        self.job = job
        self.now = datetime.now(UTC)
        self.years = list(range(as_of.year - 5, as_of.year + 1))
        self.ids = _Ids()
        self.first_taxpayer_id = self.ids.next[Taxpayer]  # the taxpayer at index i has id first + i
        self.rows: dict[type, list[tuple[object, ...]]] = {}
        self.summary = SeedSummary()
        self.notice_counter = 0

    # --- identities -------------------------------------------------------------------------------
    def _my_number(self, i: int) -> str:
        body = f"{(self.seed * 7919 + i * 104729 + 12345678901) % 10**11:011d}"
        return body + my_number.calc_check_digit(body)

    def _corporate_number(self, i: int) -> str:
        base = f"{(self.seed * 31 + i * 7727 + 100000000000) % 10**12:012d}"
        return corporate_number.calc_check_digit(base) + base

    def _address(self, rng: random.Random) -> tuple[str, str, str]:
        town, _, postal = rng.choice(TOWNS)
        address = f"{CITY}{town}{rng.randint(1, 8)}-{rng.randint(1, 30)}-{rng.randint(1, 25)}"
        building = rng.choice(BUILDINGS)
        extra = f"{building}{town[:1]}{rng.randint(1, 9)}0{rng.randint(1, 9)}号室" if building else ""
        return postal, address, extra

    def person(self, index: int, taxpayer_no: str, rng: random.Random, role: str = "") -> dict[str, object]:
        corp = rng.random() < 0.05
        if role:
            corp = role in CORPORATE_ROLES
        postal, address, extra = self._address(rng)
        phone = f"048-{rng.randint(200, 299)}-{rng.randint(0, 9999):04d}" if rng.random() < 0.7 else ""
        if corp:
            w = rng.randrange(len(CORP_WORDS))
            kind_k, kind_kana = rng.choice(CORP_KINDS)
            form, form_kana = rng.choice(CORP_FORMS)
            name = f"{form}{CORP_WORDS[w]}{kind_k}"
            kana = f"{CORP_WORDS_KANA[w]}{kind_kana}"
            return dict(
                kind=TaxpayerKind.CORPORATION,
                name=name,
                name_kana=kana,
                birth_date=date(rng.randint(1950, 2020), rng.randint(1, 12), rng.randint(1, 28)),
                sex="",
                postal_code=postal,
                address=address,
                address_extra=extra,
                phone=phone,
                my_number="",
                corporate_number=self._corporate_number(index),
                resident=False,
                deceased_on=None,
                support_measure_from=None,
                support_measure_until=None,
            )
        female = rng.random() < 0.5
        last_k, last_kana, _ = rng.choices(LAST, cum_weights=LAST_CUM)[0]
        first_k, first_kana, _ = rng.choice(FIRST_F if female else FIRST_M)
        age = int(min(95, max(20, rng.gauss(50, 17))))
        if role == DECEASED:
            age = max(age, 78)
        birth = date(self.as_of.year - age, rng.randint(1, 12), rng.randint(1, 28))
        deceased = (
            self.as_of - timedelta(days=rng.randint(30, 1500)) if age > 75 and rng.random() < 0.03 else None
        )
        resident = rng.random() > 0.04
        if role:  # the people of the showcase: alive and resident unless their role says otherwise
            deceased = self.as_of - timedelta(days=rng.randint(60, 700)) if role == DECEASED else None
            resident = role != ABROAD
        measure_from = measure_until = None
        if role in (PROTECTED, PROTECTED_UNTIL, PROTECTED_ENDED):
            measure_from = self.as_of - timedelta(days=rng.randint(400, 2000))
            if role == PROTECTED_UNTIL:
                measure_until = self.as_of + timedelta(days=rng.randint(300, 700))
            elif role == PROTECTED_ENDED:
                measure_until = self.as_of - timedelta(days=rng.randint(30, 300))
        return dict(
            kind=TaxpayerKind.INDIVIDUAL,
            name=f"{last_k}　{first_k}",
            name_kana=f"{last_kana}　{first_kana}",
            birth_date=birth,
            sex="2" if female else "1",
            postal_code=postal,
            address=address,
            address_extra=extra,
            phone=phone,
            my_number=self._my_number(index),
            corporate_number="",
            resident=resident,
            deceased_on=deceased,
            support_measure_from=measure_from,
            support_measure_until=measure_until,
        )

    def person_at(self, index: int) -> dict[str, object]:
        """The person at ``index`` again (a pure function of the seed and the index)."""
        rng = random.Random(self.seed * 1_000_003 + index)
        return self.person(index, f"{index + 1:010d}", rng, showcase_role(index))

    def co_ownership(self, index: int) -> dict[str, object]:
        """A 共有 宛名: named after its representative (「代表者名 外N名」), at the representative's address."""
        members = self.co_owner_indexes(index)
        rep = self.person_at(members[0])
        others = len(members) - 1
        return dict(
            kind=TaxpayerKind.CO_OWNERSHIP,
            name=f"{rep['name']}　外{others}名",
            name_kana=f"{rep['name_kana']}　ホカ{others}メイ",
            birth_date=None,
            sex="",
            postal_code=rep["postal_code"],
            address=rep["address"],
            address_extra=rep["address_extra"],
            phone=rep["phone"],
            my_number="",
            corporate_number="",
            resident=False,
            deceased_on=None,
            support_measure_from=None,
            support_measure_until=None,
        )

    def co_owner_indexes(self, index: int) -> tuple[int, ...]:
        block, offset = divmod(index, BLOCK)
        members = CO_OWNERS[offset] if block % 2 == 0 else CO_OWNERS[offset][:2]
        return tuple(block * BLOCK + m for m in members)

    def related_index(self, index: int, offset: int) -> int:
        return index - index % BLOCK + offset

    def taxpayer_id(self, index: int) -> int:
        return self.first_taxpayer_id + index

    # --- levies -----------------------------------------------------------------------------------
    def levy_plan(
        self, person: dict[str, object], rng: random.Random, role: str = ""
    ) -> Iterator[tuple[str, int, list[int], tuple[int, ...]]]:
        """(tax_item, levy_year, installment amounts, breakdown weights) for each levy of this person; the
        weights (main component first) split each installment's levied amount, () for no breakdown."""
        if person["kind"] == TaxpayerKind.CO_OWNERSHIP:  # a co-owned house and its land: 固定資産税 only
            property_tax = int(rng.lognormvariate(11.5, 0.5)) // 100 * 100
            for year in self.years:
                yield "04", year, split_annual(property_tax, 4), (14, 3)
            return
        corp = person["kind"] == TaxpayerKind.CORPORATION
        first_year = self.years[0] if rng.random() < 0.8 else rng.choice(self.years)
        if role:
            first_year = self.years[0]
        has_property = rng.random() < (0.6 if corp else 0.3) or role == ABROAD
        has_vehicle = not corp and rng.random() < 0.25 or role == MAIL_ITEM
        ordinary = not corp and rng.random() < 0.38
        employer = corp and rng.random() < 0.5 or role == COLLECTOR
        office_tax = corp and rng.random() < 0.05
        income = rng.lognormvariate(14.6, 0.6)  # taxable income, yen
        property_tax = int(rng.lognormvariate(11.3, 0.6)) // 100 * 100
        vehicle = rng.choice((10800, 10800, 7200, 3900, 2000))
        insured = not corp and rng.random() < 0.3  # 国民健康保険 (self-employed, retired, …)
        nhi_base = rng.lognormvariate(11.6, 0.5)
        per_capita = rng.choice(PER_CAPITA)
        birth = person["birth_date"]
        assert isinstance(birth, date)
        for year in self.years:
            if year < first_year:
                continue
            if ordinary:
                annual = (6000 if year >= 2024 else 5000) + int(income * 0.1) // 100 * 100
                yield "01", year, split_annual(annual, 4), ()
            if employer:
                monthly = int(rng.lognormvariate(11.5, 0.8)) // 100 * 100 + 100
                yield "02", year, [monthly] * 12, ()
            if corp:
                amount = max(per_capita, int(rng.lognormvariate(12.0, 0.9)) // 100 * 100)
                yield "03", year, [amount], (per_capita, amount - per_capita)  # 均等割, 法人税割
            if has_property:
                yield "04", year, split_annual(property_tax, 4), (14, 3)  # 1.4 % : 0.3 % of one 課税標準
            if has_vehicle:
                yield "05", year, [vehicle], ()
            if office_tax:
                yield "06", year, [int(rng.lognormvariate(13.0, 0.5)) // 100 * 100], ()
            if insured:
                age = year - birth.year
                annual = int(nhi_base * (1.0 + 0.02 * (year - self.years[0]))) // 100 * 100
                # 医療分, 後期高齢者支援金等分, 介護納付金分 (only for the insured of 40–64)
                yield "07", year, split_annual(annual, 8), (62, 22, 16 if 40 <= age < 65 else 0)

    def payment_behaviour(self, rng: random.Random) -> Callable[[date, int], list[tuple[date, int]]]:
        """How this person pays: on time, late, partly, or not at all (the delinquent share)."""
        r = rng.random()
        as_of = self.paid_until  # no payment after this day (the seed date unless --paid-until)
        if r < 0.78:
            kind = "good"
        elif r < 0.88:
            kind = "late"
        elif r < 0.93:
            kind = "partial"
        else:
            kind = "delinquent"

        def pay(due: date, amount: int) -> list[tuple[date, int]]:
            if amount <= 0:
                return []
            if kind == "good" or (kind != "delinquent" and rng.random() < 0.6):
                paid_on = due - timedelta(days=rng.randint(0, 25))
            elif kind == "late":
                paid_on = due + timedelta(days=rng.randint(1, 120))
            elif kind == "partial":
                part = amount // rng.choice((2, 3, 4)) // 100 * 100
                first = due + timedelta(days=rng.randint(0, 60))
                rest_day = first + timedelta(days=rng.randint(30, 400))
                out = [(first, part)] if part > 0 and first <= as_of else []
                if rng.random() < 0.5 and rest_day <= as_of:
                    out.append((rest_day, amount - part))
                return out
            else:  # delinquent: usually nothing; sometimes paid very late
                if rng.random() < 0.55:
                    return []
                paid_on = due + timedelta(days=rng.randint(30, 900))
            return [(paid_on, amount)] if paid_on <= as_of else []

        return pay

    # --- rows -------------------------------------------------------------------------------------
    def build_chunk(self, start: int, count: int) -> None:
        self.rows = {m: [] for m in COLUMNS}
        for index in range(start, start + count):
            rng = random.Random(self.seed * 1_000_003 + index)
            role = showcase_role(index)
            taxpayer_no = f"{index + 1:010d}"
            if role == CO_OWNERSHIP:
                person = self.co_ownership(index)
            else:
                person = self.person(index, taxpayer_no, rng, role)
            tp_id = self._taxpayer_rows(taxpayer_no, person)
            assert tp_id == self.taxpayer_id(index)  # one id per taxpayer, in index order
            collector = self._collector_row(index, tp_id, person) if role == COLLECTOR else None
            behaviour = self.payment_behaviour(rng)
            levied: list[tuple[str, int, int]] = []  # (tax_item, levy_year, total) of the levies written
            for tax_item, year, amounts, weights in self.levy_plan(person, rng, role):
                dues = _due_dates(tax_item, year)
                if dues[0] > self.as_of + timedelta(days=30):
                    continue  # not yet levied as of the seed date
                periods = list(zip(dues, amounts, strict=True))
                extra = LevyExtra()
                if tax_item == "02" and collector is not None:
                    extra = LevyExtra(collector=collector)
                elif tax_item == "03":  # 3月決算: the business year ends on 31 March before the 納期限
                    extra = LevyExtra(
                        filing_type=FILING_FINAL,
                        business_year=(date(year - 1, 4, 1), date(year, 3, 31)),
                    )
                    if role == LATE_FILER and year == self.years[-2]:  # 期限後申告: filed weeks late
                        filed = shift_due_date(dues[0] + timedelta(days=rng.randint(40, 120)))
                        extra = LevyExtra(
                            filing_type=FILING_LATE, business_year=extra.business_year, filed=filed
                        )
                        self._count("late_filings")
                self._levy_rows(tp_id, tax_item, year, periods, behaviour, rng, weights, extra)
                levied.append((tax_item, year, sum(amounts)))
            if role:
                self._related_rows(index, role, tp_id, person, levied, collector, rng)

    def _taxpayer_rows(self, taxpayer_no: str, p: dict[str, object]) -> int:
        tp_id = self.ids.take(Taxpayer)
        mn = str(p["my_number"])
        self.summary.taxpayers += 1
        self.summary.corporations += p["kind"] == TaxpayerKind.CORPORATION
        for key, counted in (("support_measures", p["support_measure_from"] is not None),
                             ("co_ownerships", p["kind"] == TaxpayerKind.CO_OWNERSHIP)):  # fmt: skip
            if counted:
                self._count(key)
        name, kana, addr = str(p["name"]), str(p["name_kana"]), str(p["address"])
        self.rows[Taxpayer].append(
            (
                tp_id,
                self.m.pk,
                taxpayer_no,
                p["kind"],
                name,
                kana,
                p["birth_date"],
                p["sex"],
                p["postal_code"],
                addr,
                p["address_extra"],
                "",
                "",
                p["phone"],
                encrypt_my_number(mn) if mn else None,
                my_number_hash(mn) if mn else "",
                p["corporate_number"],
                p["resident"],
                p["deceased_on"],
                p["support_measure_from"],
                p["support_measure_until"],
                kana_key(kana),
                name_key(name),
                address_key(addr + str(p["address_extra"])),
                phone_key(str(p["phone"])),
                1,
                True,
                self.now,
                self.now,
            )
        )
        data = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in p.items() if k != "my_number"}
        data.update(my_number_registered=bool(mn), mailing_postal_code="", mailing_address="")
        self.rows[TaxpayerRevision].append(
            (
                self.ids.take(TaxpayerRevision),
                self.m.pk,
                tp_id,
                1,
                json.dumps(data, ensure_ascii=False),
                json.dumps(["created"]),
                self.now,
                None,
                self.job.pk,
                "合成データ(seed)",
            )
        )
        return tp_id

    def _levy_rows(
        self,
        tp_id: int,
        tax_item: str,
        year: int,
        periods: list[tuple[date, int]],
        behaviour: Callable[[date, int], list[tuple[date, int]]],
        rng: random.Random,
        weights: tuple[int, ...] = (),
        extra: LevyExtra | None = None,
    ) -> None:
        extra = extra or LevyExtra()
        self.notice_counter += 1
        levy_id = self.ids.take(Levy)
        notice_no = seed_notice_no(year, tax_item, self.notice_counter)
        collector_id, collector_no = extra.collector if extra.collector else (None, "")
        year_start, year_end = extra.business_year
        self.rows[Levy].append(
            (
                levy_id,
                self.m.pk,
                tp_id,
                tax_item,
                year,
                year,
                notice_no,
                collector_no,
                collector_id,
                extra.filing_type,
                0,
                0,
                year_start,
                year_end,
                "",
                self.now,
                self.job.pk,
            )
        )
        levied_on = periods[0][0] - timedelta(days=30)
        levy_txn = self._txn(TxnKind.LEVY, levied_on, levied_on, "調定(合成データ)")
        total = 0
        self.summary.levies += 1
        for no, (statutory, amount) in enumerate(periods, start=1):
            # A late return's 納期限 is the day it was filed; its 延滞金 runs from the 法定納期限 (申告納付)
            due = extra.filed or statutory
            inst_id = self.ids.take(Installment)
            slip = seed_slip_no(self.seed, self.notice_counter, no)
            payments = behaviour(due, amount)
            paid = sum(a for _, a in payments)
            self.rows[Installment].append(
                (
                    inst_id,
                    self.m.pk,
                    levy_id,
                    tp_id,
                    no,
                    due,
                    statutory,
                    due,
                    statutory,
                    "",
                    "",
                    slip,
                    amount,
                    paid,
                    amount - paid,
                )
            )
            self._entry(levy_txn, Account.RECEIVABLE, Component.PRINCIPAL, inst_id, tp_id, amount)
            total += amount
            moved = [
                self._payment_rows(tp_id, inst_id, slip, paid_on, part, rng) for paid_on, part in payments
            ]
            if weights:
                self._breakdown_rows(
                    inst_id,
                    tax_item,
                    amount,
                    weights,
                    [(t, p, a) for (t, p), (_, a) in zip(moved, payments, strict=True)],
                )
            self.summary.installments += 1
            self.summary.amount_levied += amount
            if due < self.as_of:
                self.summary.due_installments += 1
                self.summary.delinquent_installments += paid < amount
        self._entry(levy_txn, Account.LEVIED, Component.PRINCIPAL, None, tp_id, -total)

    # --- related records (issue 12) ----------------------------------------------------------------
    def _related(self, model: type, *values: object) -> int:
        """One ``RelatedRecord`` row of the seed: revision 1, current, written by the seed job."""
        row_id = self.ids.take(model)
        self.rows[model].append(
            (row_id, self.m.pk, 1, True, self.now, None, self.job.pk, SEED_REASON, "", None, None, *values)
        )
        self._count(model._meta.db_table.removeprefix("taxpayers_"))  # type: ignore[attr-defined]
        return row_id

    def _count(self, key: str) -> None:
        counts = self.summary.related
        counts[key] = counts.get(key, 0) + 1

    def _collector_row(self, index: int, tp_id: int, person: dict[str, object]) -> tuple[int, str]:
        designation_no = f"{index + 1:010d}"
        row_id = self._related(
            SpecialCollector, tp_id, designation_no, person["name"], False, "総務課 給与担当", person["phone"]
        )
        return row_id, designation_no

    def _related_rows(
        self,
        index: int,
        role: str,
        tp_id: int,
        person: dict[str, object],
        levied: list[tuple[str, int, int]],
        collector: tuple[int, str] | None,
        rng: random.Random,
    ) -> None:
        """The records the showcase role of the person at ``index`` has (they name earlier people only)."""
        offset = index % BLOCK
        since = self.as_of - timedelta(days=rng.randint(200, 1500))
        if role in (MAIL_ITEM, MAIL_ALL):
            postal, place, why = rng.choice(ELSEWHERE)
            address = f"{place}{rng.randint(1, 5)}-{rng.randint(1, 20)}-{rng.randint(1, 15)}"
            item = MAIL_ITEM_TAX_ITEM if role == MAIL_ITEM else "00"
            self._related(MailingAddress, tp_id, item, "", person["name"], person["name_kana"], postal, address,
                          "", "", why, person["phone"], since, None, "", None)  # fmt: skip
        elif role == ABROAD:
            agent = self.related_index(index, AGENTS[offset])
            self._related(Representative, tp_id, self.taxpayer_id(agent), "00", RepresentativeRole.TAX_MANAGER.value,
                          since, None, self.person_at(agent)["phone"], "国外転出のため納税管理人を選任")  # fmt: skip
        elif role == CO_OWNERSHIP:
            members = self.co_owner_indexes(index)
            shares = ((2, 4), (1, 4), (1, 4)) if len(members) == 3 else ((1, 2), (1, 2))
            for year in sorted({y for item, y, _ in levied if item == "04"}):
                for seq, (member, (num, den)) in enumerate(zip(members, shares, strict=True), start=1):
                    self._related(CoOwner, tp_id, self.taxpayer_id(member), year, f"K{index + 1:010d}", seq,
                                  seq == 1, num, den)  # fmt: skip
        elif role == DECEASED:
            died = person["deceased_on"]
            for seq, offset_heir in enumerate(HEIRS[offset], start=1):
                heir = self.related_index(index, offset_heir)
                self._related(Heir, tp_id, self.taxpayer_id(heir), seq, seq == 1, 1, len(HEIRS[offset]), died)
        elif role == COLLECTOR and collector is not None:
            employees = [self.related_index(index, e) for e in EMPLOYEES[offset]]
            for item, year, total in levied:
                if item != "02":
                    continue
                amounts = split_annual(total, len(employees))  # the 年税額 of each, summing to the levy's
                for employee, amount in zip(employees, amounts, strict=True):
                    self._related(SpecialCollectionEmployee, collector[0], self.taxpayer_id(employee), year,
                                  amount, f"{year}-06", None)  # fmt: skip

    def _breakdown_rows(
        self,
        inst_id: int,
        tax_item: str,
        amount: int,
        weights: tuple[int, ...],
        payments: list[tuple[int, int, int]],
    ) -> None:
        """The installment's components (levied in proportion to ``weights``; a component of weight 0 is
        left out) and the split of each payment (txn, payment, amount) by ``rules.breakdown``, in order."""
        codes = BREAKDOWN_CODES[tax_item]
        levied = split_paid(amount, list(weights))
        parts = [(seq, codes[seq - 1], v) for seq, v in enumerate(levied, start=1) if v or seq == 1]
        values = [v for _, _, v in parts]
        held = [0] * len(parts)
        paid = 0
        for txn, pay_id, part in payments:
            paid += part
            split = split_movement(paid, values, held)
            held = [h + x for h, x in zip(held, split, strict=True)]
            for (seq, code, _), x in zip(parts, split, strict=True):
                if x:
                    self.rows[BreakdownSplit].append(
                        (self.ids.take(BreakdownSplit), self.m.pk, txn, inst_id, pay_id, seq, code, x)
                    )
        for (seq, code, v), h in zip(parts, held, strict=True):
            self.rows[InstallmentBreakdown].append(
                (self.ids.take(InstallmentBreakdown), inst_id, self.m.pk, seq, code, v, h)
            )

    def _payment_rows(
        self, tp_id: int, inst_id: int, slip: str, paid_on: date, amount: int, rng: random.Random
    ) -> tuple[int, int]:
        channel = rng.choice(PAY_CHANNELS)
        booked_on = paid_on + timedelta(days=rng.randint(0, 3))
        txn = self._txn(TxnKind.PAYMENT, paid_on, booked_on, "収納(合成データ)")
        pay_id = self.ids.take(Payment)
        self._entry(txn, Account.CASH, Component.NONE, None, tp_id, amount, pay_id)
        self._entry(txn, Account.RECEIVABLE, Component.PRINCIPAL, inst_id, tp_id, -amount, pay_id)
        self.rows[Payment].append(
            (pay_id, self.m.pk, channel, f"seed-{self.seed}-{pay_id}", PaymentStatus.POSTED, tp_id, amount, paid_on,
             booked_on, slip, "", amount, 0, 0, "{}", txn, None, self.job.pk, self.now)
        )  # fmt: skip
        self.summary.payments += 1
        self.summary.amount_paid += amount
        return txn, pay_id

    def _txn(self, kind: TxnKind, legal: date, booking: date, memo: str) -> int:
        txn_id = self.ids.take(LedgerTransaction)
        self.rows[LedgerTransaction].append(
            (txn_id, self.m.pk, kind, legal, booking, self.now, None, self.job.pk, None, memo)
        )
        return txn_id

    def _entry(
        self,
        txn: int,
        account: str,
        component: str,
        inst: int | None,
        tp: int,
        amount: int,
        pay: int | None = None,
    ) -> None:
        self.rows[LedgerEntry].append(
            (self.ids.take(LedgerEntry), self.m.pk, txn, account, component, inst, tp, amount, pay)
        )

    def flush(self) -> None:
        for model, columns in COLUMNS.items():
            if model is LedgerTransaction:  # the ledger's rows are written by the ledger (checked there)
                insert_generated(self.rows[LedgerTransaction], self.rows[LedgerEntry])
            elif model is not LedgerEntry:
                insert_rows(model, columns, self.rows[model])
        self.rows = {}


RELATED = ("id", "municipality_id", "revision", "is_current", "changed_at", "changed_by_id", "job_id", "reason",
           "source_operator", "source_operated_on", "source_operated_time")  # fmt: skip
"""The leading columns of every ``RelatedRecord`` row (``CityGenerator._related``)."""

COLUMNS: dict[type, tuple[str, ...]] = {
    Taxpayer: ("id", "municipality_id", "taxpayer_no", "kind", "name", "name_kana", "birth_date", "sex",
               "postal_code", "address", "address_extra", "mailing_postal_code", "mailing_address", "phone",
               "my_number_enc", "my_number_hash", "corporate_number", "resident", "deceased_on",
               "support_measure_from", "support_measure_until", "search_kana",
               "search_name", "search_address", "search_phone", "revision", "is_active", "created_at", "updated_at"),
    TaxpayerRevision: ("id", "municipality_id", "taxpayer_id", "revision", "data", "changed_fields", "changed_at",
                       "changed_by_id", "job_id", "reason"),
    SpecialCollector: (*RELATED, "taxpayer_id", "designation_no", "name", "due_date_special", "contact_name",
                       "contact_phone"),
    Levy: ("id", "municipality_id", "taxpayer_id", "tax_item", "levy_year", "relevant_year", "notice_no",
           "special_collector_no", "special_collector_id", "filing_type", "filing_history_no", "business_year_no",
           "business_year_start", "business_year_end", "source_operator", "created_at", "job_id"),
    Installment: ("id", "municipality_id", "levy_id", "taxpayer_id", "installment_no", "due_date",
                  "statutory_due_date", "designated_due_date", "late_charge_base_date", "due_date_special",
                  "source_operator", "slip_no", "principal_levied", "principal_paid", "principal_outstanding"),
    LedgerTransaction: TXN_COLUMNS,
    LedgerEntry: ENTRY_COLUMNS,
    Payment: ("id", "municipality_id", "channel", "reference", "status", "taxpayer_id", "amount", "paid_on",
              "booked_on", "slip_no", "confirmation_no", "allocated", "overpaid", "suspended", "detail", "txn_id",
              "reversal_txn_id", "job_id", "created_at"),
    InstallmentBreakdown: ("id", "installment_id", "municipality_id", "seq", "code", "levied", "paid"),
    BreakdownSplit: ("id", "municipality_id", "txn_id", "installment_id", "payment_id", "seq", "code", "amount"),
    SpecialCollectionEmployee: (*RELATED, "collector_id", "employee_id", "levy_year", "annual_amount",
                                "start_month", "end_date"),
    MailingAddress: (*RELATED, "taxpayer_id", "tax_item", "vehicle_no", "name", "name_kana", "postal_code",
                     "address", "address_extra", "kind", "set_reason", "phone", "valid_from", "valid_until", "memo",
                     "change_request_id"),
    Representative: (*RELATED, "taxpayer_id", "agent_id", "tax_item", "role", "valid_from", "valid_until", "phone",
                     "memo"),
    CoOwner: (*RELATED, "ownership_id", "member_id", "levy_year", "asset_group_no", "member_seq",
              "is_representative", "share_numerator", "share_denominator"),
    Heir: (*RELATED, "deceased_id", "heir_id", "seq", "is_representative", "share_numerator", "share_denominator",
           "since"),
}  # fmt: skip


def seed_city(
    *,
    municipality: Municipality,
    taxpayers: int,
    seed: int,
    as_of: date,
    job: Job,
    progress: Callable[[int], None] | None = None,
    parallel: bool = True,
    paid_until: date | None = None,
) -> SeedSummary:
    """Create ``taxpayers`` synthetic taxpayers with six years of levies and payments.

    With ``parallel`` (the default where ``fork`` exists), a child process generates the rows of the
    next chunk while this process writes the current one: the two cores share the work, and the data
    is identical to the sequential path (ids are reserved here before the child starts). Each chunk
    commits on its own so that memory stays bounded; the caller refuses to seed a municipality that
    already has taxpayers, so a partial run is visible and can be wiped and re-run.
    """
    gen = CityGenerator(municipality, seed=seed, as_of=as_of, job=job, paid_until=paid_until)
    chunks = [(start, min(CHUNK, taxpayers - start)) for start in range(0, taxpayers, CHUNK)]
    if parallel and "fork" in multiprocessing.get_all_start_methods() and len(chunks) > 1:
        summary = _seed_pipelined(gen, chunks, progress)
    else:
        for start, count in chunks:
            with transaction.atomic():
                gen.build_chunk(start, count)
                gen.flush()
            if progress:
                progress(count)
        summary = gen.summary
    reset_sequences(*COLUMNS)
    analyze(*COLUMNS)
    return summary


SHOWCASE_LABELS: dict[str, str] = {
    "protected": "支援措置（措置中: 赤い警告、住所は非表示）",
    "protected_ended": "支援措置（終了）",
    "mailing_one_item": "送付先（1税目のみ）",
    "mailing_all_items": "送付先（全税目 00）",
    "tax_manager": "納税管理人（国外在住）",
    "co_ownership": "共有（固定資産税・共有者と代表者）",
    "deceased": "死亡（相続人代表者）",
    "special_collector": "特別徴収義務者（12期の特別徴収）",
    "special_employee": "特別徴収対象者（従業員）",
    "late_filing": "法人住民税（期限後申告: 法定納期限 < 納期限）",
}


def showcase(municipality: Municipality, on: date) -> dict[str, str]:
    """宛名番号 of the first taxpayer showing each kind of related record, for the demo's guide.

    Only the first ``BLOCK`` taxpayers (by id) are looked at — the seed puts a full showcase there —
    so the look-ups stay cheap in a big city; a kind not found there is left out."""
    m = municipality.pk
    people = Taxpayer.objects.filter(municipality_id=m).order_by("pk")
    first = people.values_list("pk", flat=True).first()
    if first is None:
        return {}
    people = people.filter(pk__lt=first + BLOCK)

    def related(model: Any, column: str, *q: Q, **conditions: Any) -> Any:
        rows = model.objects.filter(
            municipality_id=m, is_current=True, **{f"{column}__gte": first, f"{column}__lt": first + BLOCK}
        )
        return people.filter(pk__in=rows.filter(*q, **conditions).values(column))

    found: dict[str, Any] = {
        "protected": people.filter(protection.active_on(on)),
        "protected_ended": people.filter(support_measure_until__lt=on),
        "mailing_one_item": related(MailingAddress, "taxpayer_id", ~Q(tax_item="00")),
        "mailing_all_items": related(MailingAddress, "taxpayer_id", tax_item="00"),
        "tax_manager": related(Representative, "taxpayer_id", role=RepresentativeRole.TAX_MANAGER),
        "co_ownership": people.filter(kind=TaxpayerKind.CO_OWNERSHIP),
        "deceased": related(Heir, "deceased_id"),
        "special_collector": related(SpecialCollector, "taxpayer_id"),
        "special_employee": related(SpecialCollectionEmployee, "employee_id"),
        "late_filing": people.filter(
            pk__in=Installment.objects.filter(
                municipality_id=m,
                taxpayer_id__gte=first,
                taxpayer_id__lt=first + BLOCK,
                levy__tax_item="03",
                statutory_due_date__lt=F("due_date"),
            ).values("taxpayer_id")
        ),
    }
    out: dict[str, str] = {}
    for key, query in found.items():
        number = query.values_list("taxpayer_no", flat=True).first()
        if number is not None:
            out[key] = number
    return out


def showcase_lines(numbers: dict[str, str]) -> list[str]:
    """The demo's guide to the records of issue 12: one line per kind, with the 宛名番号 to search."""
    return [f"  {numbers[key]}  {label}" for key, label in SHOWCASE_LABELS.items() if key in numbers]


def _produce(gen: CityGenerator, chunks: list[tuple[int, int]], queue: Any) -> None:
    """Child process: build each chunk's rows and hand them over; never touches the database."""
    try:
        for start, count in chunks:
            gen.build_chunk(start, count)
            queue.put(("chunk", gen.rows, count))
        queue.put(("done", gen.summary, 0))
    except BaseException:  # report any failure to the parent instead of dying silently
        queue.put(("error", traceback.format_exc(), 0))


def _seed_pipelined(
    gen: CityGenerator, chunks: list[tuple[int, int]], progress: Callable[[int], None] | None
) -> SeedSummary:
    connections.close_all()  # the child must not inherit an open database connection
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue(maxsize=2)
    child = ctx.Process(target=_produce, args=(gen, chunks, queue), daemon=True)
    child.start()
    try:
        while True:
            kind, payload, count = queue.get()
            if kind == "error":
                raise RuntimeError(f"合成データの生成に失敗しました:\n{payload}")
            if kind == "done":
                return payload  # type: ignore[no-any-return]
            gen.rows = payload
            with transaction.atomic():
                gen.flush()
            if progress:
                progress(count)
    finally:
        child.join(timeout=5)
        if child.is_alive():
            child.terminate()
