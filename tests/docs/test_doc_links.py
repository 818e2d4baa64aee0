"""Every file the README and docs/ point at exists (markdown links and `path.md` mentions alike)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md"))]
# The project's shared specification lives outside this repository (named `shared/docs/…`).
EXTERNAL = ("shared/docs/", "http://", "https://", "mailto:", "#")
LINK = re.compile(r"\]\(([^)\s]+)\)")
MENTION = re.compile(r"`((?:[\w.-]+/)*[\w.-]+\.md)(?:#[^`]*)?`")


def _targets(doc: Path) -> set[str]:
    text = doc.read_text(encoding="utf-8")
    return {
        t.split("#", 1)[0] for t in LINK.findall(text) + MENTION.findall(text) if not t.startswith(EXTERNAL)
    }


def _exists(doc: Path, target: str) -> bool:
    # relative to the document, or (the README's and docs' usual way of naming files) to the repository
    return any((base / target).exists() for base in (doc.parent, ROOT))


def test_every_relative_link_in_the_readme_and_docs_exists() -> None:
    broken = [
        f"{doc.relative_to(ROOT)} → {t}"
        for doc in DOCS
        for t in sorted(_targets(doc))
        if t and not _exists(doc, t)
    ]
    assert broken == []


def test_the_glossary_is_there_and_names_identifiers() -> None:
    text = (ROOT / "docs" / "glossary.md").read_text(encoding="utf-8")
    for term, identifier in (
        ("宛名番号", "taxpayer_no"),
        ("延滞金", "late_charge"),
        ("端末アドレス", "client_addr"),
    ):
        assert re.search(rf"\| [^|]*{term}[^|]* \| [^|]*`{identifier}`", text), term
