"""The commands of the related-record imports (``choshu import-mailing-addresses`` …, docs/formats.md
§7–§12). They sit here, above ``levies``, because the 送付先 and 代理人 layouts are checked against the
municipality's 税目マスタ (``levies.tax_items``), which ``taxpayers`` (where the imports live) cannot read.
"""

from __future__ import annotations

from argparse import ArgumentParser
from collections.abc import Callable
from typing import Any, ClassVar

from choshu.core.commands import ChoshuCommand
from choshu.core.models import Municipality
from choshu.levies.tax_items import catalog
from choshu.taxpayers import related_imports
from choshu.taxpayers.related_imports import RelatedImportSummary

Importer = Callable[[Municipality, str], RelatedImportSummary]


def _with_tax_items(fn: Callable[..., RelatedImportSummary]) -> Importer:
    def run(municipality: Municipality, path: str) -> RelatedImportSummary:
        return fn(municipality=municipality, path=path, tax_items=set(catalog(municipality.pk)))

    return run


def _plain(fn: Callable[..., RelatedImportSummary]) -> Importer:
    def run(municipality: Municipality, path: str) -> RelatedImportSummary:
        return fn(municipality=municipality, path=path)

    return run


IMPORTERS: dict[str, tuple[str, Importer]] = {
    "mailing-addresses": ("送付先取込", _with_tax_items(related_imports.mailing_addresses_import)),
    "representatives": ("代理人・納税管理人取込", _with_tax_items(related_imports.representatives_import)),
    "co-owners": ("共有者取込", _plain(related_imports.co_owners_import)),
    "heirs": ("相続人取込", _plain(related_imports.heirs_import)),
    "special-collectors": ("特別徴収義務者取込", _plain(related_imports.special_collectors_import)),
    "special-employees": ("特別徴収対象者取込", _plain(related_imports.special_employees_import)),
}


class RelatedImportCommand(ChoshuCommand):
    """``choshu import-<layout> FILE [--json] [--municipality CODE]``: exit 0, or 2 when refused."""

    layout: ClassVar[str]

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("file")

    def run(self, **options: Any) -> None:
        title, importer = IMPORTERS[self.layout]
        d = importer(self.municipality(options), options["file"]).as_dict()
        seen = "（取込済みのファイル）" if d["already_imported"] else ""
        self.emit(
            options,
            d,
            f"{title}: {d['rows']}行 新規{d['created']} 異動{d['updated']} 終了{d['ended']} "
            f"変更なし{d['unchanged']}{seen}",
        )
