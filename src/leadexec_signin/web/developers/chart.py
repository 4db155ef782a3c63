"""The console's usage chart, drawn on the server as SVG geometry the template writes out:
no script, nothing from another origin, readable with styles off (each bar has a title)."""

from __future__ import annotations

from dataclasses import dataclass

from leadexec_signin.core.actions.console import Usage

WIDTH, HEIGHT, GAP = 300, 90, 2


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str  # "2026-12-01: 3 sign-ins"


@dataclass(frozen=True)
class Panel:
    key: str
    title: str
    total: str
    top: int
    bars: tuple[Bar, ...]
    first: str
    last: str


def panel(
    key: str, title: str, unit: str, usage: Usage, values: tuple[int, ...], total: str
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
                label=f"{day.isoformat()}: {value} {unit}",
            )
        )
    days = usage.days
    return Panel(
        key,
        title,
        total,
        top,
        tuple(bars),
        days[0].strftime("%d %b") if days else "",
        days[-1].strftime("%d %b") if days else "",
    )


def panels(usage: Usage) -> list[Panel]:
    live = usage.grants[-1] if usage.grants else 0
    return [
        panel("signins", "Sign-ins", "sign-ins", usage, usage.signins,
              f"{sum(usage.signins)} in 30 days"),
        panel("exchanges", "Token exchanges", "exchanges", usage, usage.exchanges,
              f"{sum(usage.exchanges)} in 30 days"),
        panel("grants", "Active grants", "active grants", usage, usage.grants,
              f"{live} today"),
    ]  # fmt: skip
