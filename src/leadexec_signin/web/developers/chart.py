"""The console's usage chart, drawn on the server as SVG geometry the template writes out:
no script, nothing from another origin, readable with styles off (each bar has a title).

Its words are messages the template translates when it draws the page (``_(panel.title)``,
``_(panel.bar_words, day=..., count=...)``), in the reader's language; numbers go through the
``number`` filter and the axis's days through :meth:`Panel.day`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from leadexec_signin import i18n
from leadexec_signin.core.actions.console import Usage
from leadexec_signin.i18n import N_

WIDTH, HEIGHT, GAP = 300, 90, 2


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    day: str  # ISO 8601, the same in every language: "2026-12-01"
    value: int


@dataclass(frozen=True)
class Panel:
    key: str
    title: str  # a message: "Sign-ins"
    bar_words: str  # a message with %(day)s and %(count)s: "2026-12-01: 3 sign-ins"
    total_words: str  # a message with %(count)s: "3 in 30 days"
    total: int
    top: int
    bars: tuple[Bar, ...]
    first: date | None
    last: date | None

    @staticmethod
    def day(value: date | None) -> str:
        """An axis end, "01 Dec" in English, as the reader's language writes the month."""
        return i18n.format_date(datetime.combine(value, time()), "dd MMM") if value else ""


def panel(
    key: str,
    title: str,
    bar_words: str,
    usage: Usage,
    values: tuple[int, ...],
    total_words: str,
    total: int,
) -> Panel:
    top = max(values, default=0)
    step = WIDTH / max(len(values), 1)
    bars = []
    for i, (day, value) in enumerate(zip(usage.days, values, strict=True)):
        height = 0.0 if top == 0 else max(1.5, HEIGHT * value / top) if value else 0.0
        bars.append(
            Bar(
                x=round(i * step + GAP / 2, 2),
                y=round(HEIGHT - height, 2),
                width=round(step - GAP, 2),
                height=round(height, 2),
                day=day.isoformat(),
                value=value,
            )
        )
    days = usage.days
    return Panel(
        key,
        title,
        bar_words,
        total_words,
        total,
        top,
        tuple(bars),
        days[0] if days else None,
        days[-1] if days else None,
    )


def panels(usage: Usage) -> list[Panel]:
    live = usage.grants[-1] if usage.grants else 0
    in_30_days = N_("%(count)s in 30 days")
    return [
        panel("signins", N_("Sign-ins"), N_("%(day)s: %(count)s sign-ins"), usage,
              usage.signins, in_30_days, sum(usage.signins)),
        panel("exchanges", N_("Token exchanges"), N_("%(day)s: %(count)s exchanges"), usage,
              usage.exchanges, in_30_days, sum(usage.exchanges)),
        panel("grants", N_("Active grants"), N_("%(day)s: %(count)s active grants"), usage,
              usage.grants, N_("%(count)s today"), live),
    ]  # fmt: skip
