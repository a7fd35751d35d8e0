"""Bar charts as inline SVG text: the report stays one file that opens offline."""

from html import escape
from typing import Sequence, Tuple

Rows = Sequence[Tuple[str, int]]

BAR_COLOUR = "#2f6f8f"
TEXT_STYLE = 'font-family="system-ui, sans-serif" font-size="12" fill="#222"'


def bar_chart(rows: Rows, title: str, width: int = 640) -> str:
    """Horizontal bars, one per row, longest first as given, the count after each bar."""
    if not rows:
        return ""
    label_width, row_height, value_room = 270, 22, 50
    scale = (width - label_width - value_room) / max(max(value for _, value in rows), 1)
    height = row_height * len(rows) + 8
    parts = [_open(width, height, title)]
    for index, (label, value) in enumerate(rows):
        y = 4 + index * row_height
        bar = max(value * scale, 1 if value else 0)
        parts.append(
            f'<text x="{label_width - 8}" y="{y + 15}" text-anchor="end" {TEXT_STYLE}>'
            f"{escape(_shorten(label, 42))}</text>"
            f'<rect x="{label_width}" y="{y + 3}" width="{bar:.1f}" height="{row_height - 6}" '
            f'fill="{BAR_COLOUR}"/>'
            f'<text x="{label_width + bar + 6:.1f}" y="{y + 15}" {TEXT_STYLE}>{value}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def column_chart(rows: Rows, title: str, width: int = 640, height: int = 180) -> str:
    """Vertical columns in the order given (days), with a few of the labels under them."""
    if not rows:
        return ""
    top, bottom, left = 16, 34, 36
    plot_height = height - top - bottom
    step = (width - left - 8) / len(rows)
    peak = max(max(value for _, value in rows), 1)
    # Label about eight columns, so the dates never overlap.
    every = max(1, round(len(rows) / 8))
    parts = [
        _open(width, height, title),
        f'<line x1="{left}" y1="{top + plot_height}" x2="{width - 8}" y2="{top + plot_height}" '
        f'stroke="#999"/>',
        f'<text x="{left - 6}" y="{top + 4}" text-anchor="end" {TEXT_STYLE}>{peak}</text>',
        f'<text x="{left - 6}" y="{top + plot_height}" text-anchor="end" {TEXT_STYLE}>0</text>',
    ]
    for index, (label, value) in enumerate(rows):
        column = value / peak * plot_height
        x = left + index * step
        parts.append(
            f'<rect x="{x + step * 0.15:.1f}" y="{top + plot_height - column:.1f}" '
            f'width="{step * 0.7:.1f}" height="{column:.1f}" fill="{BAR_COLOUR}">'
            f"<title>{escape(label)}: {value}</title></rect>"
        )
        if index % every == 0 or index == len(rows) - 1:
            parts.append(
                f'<text x="{x + step / 2:.1f}" y="{height - bottom + 18}" text-anchor="middle" '
                f"{TEXT_STYLE}>{escape(label[5:])}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)


def _open(width: int, height: int, title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>"
    )


def _shorten(label: str, most: int) -> str:
    return label if len(label) <= most else label[: most - 1] + "…"
