"""The one label lookup for keys and codes shown on screens (issue 13 §6)."""

from __future__ import annotations

from choshu.core.labels import key_label, value_label


def test_keys_services_write_have_japanese_names() -> None:
    assert key_label("slip_no") == "納付番号"
    assert key_label("ocr_lower") == "OCR（下段）"
    assert key_label("kind") == "種別" and key_label("created") == "新規"


def test_the_choices_of_every_model_field_are_registered_when_the_apps_are_ready() -> None:
    assert value_label("taxpayer_edit") == "宛名情報の訂正"  # approvals.RequestKind
    assert value_label("eltax") == "地方税共通納税"  # receipts.Channel
    assert value_label("import-levies") == "調定取込"  # core.Job.Kind
    assert value_label("pending") == "決裁待ち"


def test_a_model_fields_japanese_verbose_name_names_its_key() -> None:
    assert key_label("support_measure_from") == "支援措置開始日"
    assert key_label("principal_levied") == "調定額(本税)"


def test_only_text_written_like_a_code_is_translated() -> None:
    assert value_label("1") == "1"  # not 「男」 (taxpayers.Sex): digits are data
    assert value_label("川口 太郎") == "川口 太郎"
    assert value_label("Unknown_Code") == "Unknown_Code"
    assert key_label("no_such_key") == "no_such_key"  # left visible: the screen guard test finds it
