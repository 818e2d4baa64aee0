from __future__ import annotations

import sys
import time
from argparse import ArgumentParser
from datetime import date
from typing import Any

from django.core.management.base import CommandError
from django.utils import timezone

from choshu.core.commands import EXIT_REFUSED, ChoshuCommand
from choshu.core.models import Job, Municipality
from choshu.core.services import job_finish, job_start, municipality_create
from choshu.operations.demo_settings import ensure_demo_dunning_fee
from choshu.operations.synthetic import seed_city, showcase, showcase_lines
from choshu.taxpayers.models import Taxpayer


class Command(ChoshuCommand):
    help = "合成データの市を作成する（同じ --seed なら同じデータ）。既定で川口市(112038)を作成"

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--taxpayers", type=int, required=True, metavar="N")
        parser.add_argument("--seed", type=int, default=1, metavar="S")
        parser.add_argument("--as-of", default=None, metavar="YYYY-MM-DD", help="基準日（既定: 今日）")
        parser.add_argument(
            "--paid-until",
            default=None,
            metavar="YYYY-MM-DD",
            help="この日までの納付だけを作る（既定: 基準日）。ベンチマーク用に未納の期別を残すとき",
        )

    def run(self, **options: Any) -> None:
        n = options["taxpayers"]
        if n < 1:
            raise CommandError("--taxpayers は1以上を指定してください", returncode=EXIT_REFUSED)
        try:
            as_of = date.fromisoformat(options["as_of"]) if options["as_of"] else timezone.localdate()
        except ValueError as exc:
            raise CommandError(
                f"--as-of の日付が不正です: {options['as_of']}", returncode=EXIT_REFUSED
            ) from exc
        try:
            paid_until = date.fromisoformat(options["paid_until"]) if options.get("paid_until") else as_of
        except ValueError as exc:
            raise CommandError(
                f"--paid-until の日付が不正です: {options['paid_until']}", returncode=EXIT_REFUSED
            ) from exc
        if paid_until > as_of:
            raise CommandError("--paid-until は基準日以前の日付を指定してください", returncode=EXIT_REFUSED)
        if not Municipality.objects.exists() and not options.get("municipality"):
            municipality_create(
                code="112038",
                name="川口市",
                conveni_company_code="912345",
                conveni_client_code="11203",
                eltax_agency_no="11203",
            )
        m = self.municipality(options)
        if Taxpayer.objects.filter(municipality=m).exists():
            raise CommandError(
                f"{m} には既に宛名があります。合成データは空の自治体にだけ作成できます",
                returncode=EXIT_REFUSED,
            )
        ensure_demo_dunning_fee(m)  # a synthetic city can run dunning (operations.demo_settings)
        job = job_start(
            municipality=m,
            kind=Job.Kind.SEED,
            parameters={
                "taxpayers": n,
                "seed": options["seed"],
                "as_of": as_of.isoformat(),
                "paid_until": paid_until.isoformat(),
            },
        )
        started = time.monotonic()
        done = 0
        tty = sys.stderr.isatty()

        def progress(count: int) -> None:
            nonlocal done
            done += count
            if tty:
                rate = done / max(time.monotonic() - started, 1e-6)
                sys.stderr.write(f"\r合成データ作成中 {done:,}/{n:,} 件 ({rate:,.0f} 件/秒)")
                sys.stderr.flush()

        summary = seed_city(
            municipality=m,
            taxpayers=n,
            seed=options["seed"],
            as_of=as_of,
            paid_until=paid_until,
            job=job,
            progress=progress,
        )
        if tty:
            sys.stderr.write("\n")
        seconds = time.monotonic() - started
        payload = {"municipality": m.code, **summary.as_dict(), "seconds": round(seconds, 2)}
        job_finish(job, status=Job.Status.SUCCEEDED, counts=payload)
        numbers = showcase(m, timezone.localdate())
        guide = (
            "\n\n"
            + "\n".join(["標準データの例（検索画面の「宛名番号」で開けます）:", *showcase_lines(numbers)])
            if numbers
            else ""
        )
        self.emit(
            options,
            {**payload, "showcase": numbers},
            f"{m}: 宛名 {summary.taxpayers:,} 件、期別 {summary.installments:,} 件を作成しました"
            f"（{seconds:.1f} 秒）{guide}",
        )
