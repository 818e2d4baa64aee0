"""The 月次統計's charts, drawn server-side as SVG with pygal (no JavaScript): the cumulative 収納率 by
month against the previous year, the month's 収入 by channel, the arrears by age band.

Suppressed cells (「秘匿」) are left out of the charts (a chart never shows what the table hides). The
SVG is shown as an ``<img>`` with a ``data:`` URL: the site's Content-Security-Policy allows no inline
style, and pygal styles its SVG with a ``<style>`` element, which works inside an image. Japanese
labels use the fonts named in ``FONT`` (the IPAex Gothic the PDFs embed, then the usual system fonts).
"""

from __future__ import annotations

import base64
import re
from decimal import Decimal

import pygal
from pygal.style import Style

from choshu.reports.statistics import Statistics, Table

FONT = "'IPAexGothic', 'IPAGothic', 'Noto Sans CJK JP', 'Hiragino Sans', 'Yu Gothic', 'Meiryo', sans-serif"
STYLE = Style(
    font_family=FONT, background="white", plot_background="white", foreground="#222", foreground_strong="#000",
    foreground_subtle="#666", colors=("#1f5fa8", "#8ab4e8", "#c0392b", "#f0a59c"),
    title_font_size=16, label_font_size=12, major_label_font_size=12, legend_font_size=12,
)  # fmt: skip
OPTIONS = {"style": STYLE, "js": [], "disable_xml_declaration": True, "width": 720, "height": 360,
           "explicit_size": True, "print_values": False, "legend_at_bottom": True,
           "no_data_text": "データがありません"}  # fmt: skip


_SCRIPT = re.compile(r"<script\b.*?</script>", re.S)


def _svg(chart: pygal.graph.graph.Graph) -> str:
    """The SVG without pygal's inline configuration script (nothing runs in the chart)."""
    return _SCRIPT.sub("", str(chart.render(is_unicode=True)))


def _pct(value: str) -> float | None:
    return float(Decimal(value)) if value else None


def collection_rate_svg(s: Statistics) -> str:
    chart = pygal.Line(title="収納率（累計）の推移 前年度同月との比較", y_title="収納率（％）", range=(0, 100),
                       value_formatter=lambda v: f"{v:.1f}", **OPTIONS)  # fmt: skip
    chart.x_labels = s.months
    for r in s.rates:
        if r.tax_item != "*" or r.category == "*" or r.rates is None or r.previous_rates is None:
            continue
        label = r.category_label
        chart.add(f"{s.fiscal_year}年度 {label}", [_pct(v) for v in r.rates])
        chart.add(f"{s.fiscal_year - 1}年度 {label}", [_pct(v) for v in r.previous_rates])
    return _svg(chart)


def _bars(title: str, table: Table) -> str:
    chart = pygal.Bar(title=title, y_title="金額（円）", show_legend=False, value_formatter=lambda v: f"{v:,.0f}",
                      **OPTIONS)  # fmt: skip
    shown = [r for r in table.rows if not r.cell.suppressed and r.cell.amount]
    chart.x_labels = [r.label for r in shown]
    chart.add("金額（円）", [r.cell.amount for r in shown])
    return _svg(chart)


def channel_svg(s: Statistics) -> str:
    return _bars(f"{s.month.year}年{s.month.month}月の収納経路別 収入額（本税）", s.by_channel)


def age_svg(s: Statistics) -> str:
    return _bars(f"{s.end.year}年{s.end.month}月末の滞納額 経過年数別（本税）", s.by_age)


def data_url(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
