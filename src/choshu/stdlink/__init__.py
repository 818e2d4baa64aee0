"""標準連携: the national standard's files between 統合収納管理 (036) and 統合滞納管理 (037).

Imports of the 036 → 037 files (``imports``) and exports of the 037 → 036 files this system owns
(``exports``), so a city can run choshu as its 滞納整理 beside a commercial receipts system, or the other
way round. Layouts: docs/formats.md §34 (imports) and §35 (exports); items: standard-data.md.
"""
