"""Geometry of the dashboard's server-rendered SVG charts; the templates only draw it (no Django here).

Points are spaced by decision, not by time: decisions are events, and even spacing keeps every one visible.
Coordinates leave here as ready-made SVG numbers, so the template does no number formatting per point.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from .risk import BPS

WIDTH, HEIGHT = 640, 220
# Room for the y-axis labels on the left and the dates below.
LEFT, RIGHT, TOP, BOTTOM = 40, 8, 10, 24


def _num(value: float) -> str:
    return f"{value:.1f}"


@dataclass(frozen=True)
class Tick:
    at: str
    label: str


@dataclass(frozen=True)
class Series:
    key: str  # names the CSS colour: series--jediswap, series--ekubo
    label: str
    line: str  # SVG points "x,y x,y ..."
    area: str = ""  # closed polygon under (or above) the line, for a stacked area
    last: tuple[str, str] | None = None  # where the latest value sits, to mark it


@dataclass(frozen=True)
class Column:
    """One decision's hover band with its values spelled out."""

    x: str
    width: str
    title: str


@dataclass(frozen=True)
class Chart:
    title: str
    series: list[Series]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    columns: list[Column]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM

    @property
    def is_empty(self) -> bool:
        return not self.columns

    @property
    def plot_height(self) -> int:
        return self.bottom - self.top


def _xs(count: int) -> list[float]:
    if count == 1:
        return [(LEFT + WIDTH - RIGHT) / 2]
    step = (WIDTH - RIGHT - LEFT) / (count - 1)
    return [LEFT + i * step for i in range(count)]


def _y(value: float, top_value: float) -> float:
    return HEIGHT - BOTTOM - (HEIGHT - BOTTOM - TOP) * value / top_value


def _points(xs: Sequence[float], ys: Sequence[float]) -> str:
    return " ".join(f"{_num(x)},{_num(y)}" for x, y in zip(xs, ys, strict=True))


def _date_label(at: datetime, span_days: float) -> str:
    return at.strftime("%d %b %H:%M") if span_days < 2 else at.strftime("%d %b")


def _x_ticks(xs: list[float], times: list[datetime]) -> list[Tick]:
    span = (times[-1] - times[0]).total_seconds() / 86400
    picks = sorted({0, len(xs) // 2, len(xs) - 1})
    return [Tick(_num(xs[i]), _date_label(times[i], span)) for i in picks]


def _columns(xs: list[float], titles: list[str]) -> list[Column]:
    width = (xs[1] - xs[0]) if len(xs) > 1 else WIDTH - LEFT - RIGHT
    return [Column(_num(x - width / 2), f"{width:.2f}", title) for x, title in zip(xs, titles, strict=True)]


def _nice_top(value: int) -> int:
    """The axis top: the next multiple of 20 at or above the largest value, at least 20."""
    return max(20, -(-value // 20) * 20)


def split_chart(points: Sequence[dict]) -> Chart:
    """JediSwap's share stacked under Ekubo's, in percent of the allocation."""
    title = "Allocation split"
    if not points:
        return Chart(title, [], [], [], [])
    xs = _xs(len(points))
    base = HEIGHT - BOTTOM
    boundary = [_y(p["jediswap_pct"], BPS) for p in points]
    line = _points(xs, boundary)
    jediswap_area = f"{_num(xs[0])},{_num(base)} {line} {_num(xs[-1])},{_num(base)}"
    ekubo_area = f"{_num(xs[0])},{_num(TOP)} {line} {_num(xs[-1])},{_num(TOP)}"
    return Chart(
        title=title,
        series=[
            Series("jediswap", "JediSwap", line, jediswap_area, (_num(xs[-1]), _num(boundary[-1]))),
            Series("ekubo", "Ekubo", "", ekubo_area),
        ],
        y_ticks=[Tick(_num(_y(pct * 100, BPS)), f"{pct} %") for pct in (0, 25, 50, 75, 100)],
        x_ticks=_x_ticks(xs, [p["created_at"] for p in points]),
        columns=_columns(
            xs,
            [
                f"Decision {p['id']}, {p['created_at']:%d %b %Y %H:%M}: "
                f"JediSwap {p['jediswap_pct'] / 100:.2f} %, Ekubo {p['ekubo_pct'] / 100:.2f} %"
                for p in points
            ],
        ),
    )


def score_chart(points: Sequence[dict]) -> Chart:
    """Both protocols' risk scores, higher is riskier."""
    title = "Risk scores"
    if not points:
        return Chart(title, [], [], [], [])
    xs = _xs(len(points))
    top = _nice_top(max(max(p["jediswap_score"], p["ekubo_score"]) for p in points))
    series = []
    for key, label in (("jediswap", "JediSwap"), ("ekubo", "Ekubo")):
        ys = [_y(p[f"{key}_score"], top) for p in points]
        series.append(Series(key, label, _points(xs, ys), last=(_num(xs[-1]), _num(ys[-1]))))
    return Chart(
        title=title,
        series=series,
        y_ticks=[Tick(_num(_y(v, top)), str(v)) for v in range(0, top + 1, top // 4)],
        x_ticks=_x_ticks(xs, [p["created_at"] for p in points]),
        columns=_columns(
            xs,
            [
                f"Decision {p['id']}, {p['created_at']:%d %b %Y %H:%M}: "
                f"JediSwap {p['jediswap_score']}, Ekubo {p['ekubo_score']}"
                for p in points
            ],
        ),
    )


@dataclass(frozen=True)
class DataRow:
    """One decision of the charts, spelled out for the table that stands in for them."""

    decision_id: int
    at: str
    jediswap_pct: str
    ekubo_pct: str
    jediswap_score: int
    ekubo_score: int


def data_rows(points: Sequence[dict]) -> list[DataRow]:
    """Newest first, as the decision table reads."""
    return [
        DataRow(
            p["id"],
            f"{p['created_at']:%d %b %Y, %H:%M}",
            f"{p['jediswap_pct'] / 100:.2f}\u00a0%",
            f"{p['ekubo_pct'] / 100:.2f}\u00a0%",
            p["jediswap_score"],
            p["ekubo_score"],
        )
        for p in reversed(points)
    ]
