"""Terminal reports (rich tables) of simulations, forecasts and rule diffs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from itertools import zip_longest
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.markup import escape
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from escalation.application.event_text import Labeller, describe
from escalation.application.whatif.compare import TimelineRow
from escalation.application.whatif.figures import totals_rows, weekly_rows
from escalation.application.whatif.open_disputes import Forecast, OpenNow, Upcoming
from escalation.application.whatif.rule_diff import RuleChange
from escalation.application.whatif.simulate import Simulation
from escalation.policies.rulebook.messages import counted

WEEKS_SHOWN = 20


def texts(*cells: str) -> list[Text]:
    """Table cells as plain text: data (CEL lists, rule ids in brackets) is not markup."""
    return [Text(c) for c in cells]


def print_simulation(
    console: Console, sim: Simulation, *, limit: int, tiers: Sequence[str]
) -> None:
    c, zone = sim.comparison, ZoneInfo(sim.candidate.calendar.timezone)
    versions = ", ".join(f"{v} ({n:,} decisions)" for v, n in c.versions.most_common(4))
    console.print(
        f"candidate [bold]{escape(sim.candidate.source)}[/] (version {sim.candidate.version}) "
        f"against the recorded log (rules {versions or 'none recorded'})"
    )
    w = sim.window
    chosen = f"received {_day(w.start, zone)} … {_day(w.end, zone)}; " if w.start or w.end else ""
    console.print(
        f"{chosen}horizon {w.horizon.astimezone(zone):%Y-%m-%d %H:%M} ({zone.key})"
        + (" — the log ends there, before --to" if w.clamped else "")
        + f"; {sim.disputes:,} disputes in {sim.seconds:,.1f}s ({sim.rate:,.0f}/s)"
    )
    table = Table(title="totals: current vs candidate", title_justify="left")
    for col in ("figure", "current", "candidate", "change"):
        table.add_column(col, justify="left" if col == "figure" else "right")
    for row in totals_rows(c.current, c.candidate, tiers, sim.candidate.label):
        table.add_row(*texts(*row), style="bold" if row[3] else None)
    console.print(table)
    _weekly(console, sim, tiers)
    _changes(console, sim, limit, zone)
    _notes(console, sim)
    if c.changed == 0 and c.decisions_differ == 0:
        console.print("[green]no differences[/]: the candidate decides exactly as recorded")
    else:
        console.print(
            f"[yellow]{c.changed:,} of {c.current.disputes:,} disputes would differ[/] "
            f"({c.decisions_differ:,} with any decision different)"
        )


def _weekly(console: Console, sim: Simulation, tiers: Sequence[str]) -> None:
    c = sim.comparison
    rows = weekly_rows(c.current, c.candidate, tiers)
    differing = [r for r in rows if any("→" in cell for cell in r[1])]
    shown = differing[:WEEKS_SHOWN]
    title = (
        f"weekly workload (arrivals per tier): {len(differing)} of "
        f"{counted(len(rows), 'week')} {'differs' if len(differing) == 1 else 'differ'}"
    )
    table = Table(title=Text(title), title_justify="left")
    table.add_column("ISO week")
    for tier in tiers:
        table.add_column(Text(sim.candidate.label("tiers", tier)), justify="right")
    for week, cells in shown:
        table.add_row(*texts(week, *cells))
    if shown:
        console.print(table)
    else:
        console.print(title, markup=False)


def _changes(console: Console, sim: Simulation, limit: int, zone: ZoneInfo) -> None:
    c = sim.comparison
    if not c.changes:
        return
    table = Table(
        title=f"changed disputes (first {min(limit, len(c.changes))} of {c.changed:,})",
        title_justify="left",
    )
    for col in ("dispute", "received", "unit", "what", "current", "candidate"):
        table.add_column(col, overflow="fold")
    label = sim.candidate.label
    for change in c.changes[:limit]:
        for i, (what, a, b) in enumerate(change.rows):
            first = i == 0
            table.add_row(
                *texts(
                    str(change.dispute_id) if first else "",
                    f"{change.received_at.astimezone(zone):%Y-%m-%d}" if first else "",
                    change.received_unit if first else "",
                    what,
                    _named(label, what, a),
                    _named(label, what, b),
                )
            )
    console.print(table)
    console.print("see one side by side: escalation simulate --rules FILE --dispute ID")


#: The rows of a change whose values are one code: (row, kind of label).
NAMED_ROWS = {"tier reached": "tiers", "risk": "risks", "department": "departments"}


def _named(label: Labeller, what: str, value: str) -> str:
    """A change's value as people read it: a tier, risk or department by its name."""
    kind = NAMED_ROWS.get(what)
    if kind is not None:
        return label(kind, value) if value not in {"None", "none", ""} else "-"
    if what == "status" and value.startswith("closed at "):
        return f"closed at {label('tiers', value.removeprefix('closed at '))}"
    return value


def _notes(console: Console, sim: Simulation) -> None:
    c = sim.comparison
    if not c.notes:
        return
    text = ", ".join(f"{n:,} {event} {kind}" for (kind, event), n in sorted(c.notes.items()))
    console.print(
        f"recorded facts under the candidate: {text} (moved: applied to the unit holding the "
        "dispute; dropped: refused there, e.g. a manual escalation it no longer needed)"
    )
    if c.skipped_count:
        console.print(f"{c.skipped_count:,} disputes skipped (not replayable under the candidate):")
    for did, note in c.skipped[:5]:
        console.print(f"  skipped {did}: {note.detail}", markup=False)


def print_timelines(
    console: Console,
    dispute: str,
    current: list[TimelineRow],
    candidate: list[TimelineRow],
    zone: ZoneInfo,
) -> None:
    for title, rows in (("recorded (current rules)", current), ("candidate", candidate)):
        table = Table(title=Text(f"{dispute}: {title}"), title_justify="left")
        for col in ("occurred (local)", "event", "what", "by"):
            table.add_column(col, overflow="fold")
        for at, name, what, by_rule in rows:
            table.add_row(
                *texts(
                    f"{at.astimezone(zone):%Y-%m-%d %H:%M}",
                    name,
                    what,
                    "rule" if by_rule else "fact",
                )
            )
        console.print(table)


def print_forecast(console: Console, result: OpenNow, *, limit: int) -> None:
    zone = ZoneInfo(result.candidate_rules.calendar.timezone)
    console.print(
        f"if [bold]{escape(result.candidate_rules.source)}[/] "
        f"({result.candidate_rules.version}) went "
        f"live at {result.now.astimezone(zone):%Y-%m-%d %H:%M} instead of "
        f"{result.current_rules.version} (in-flight disputes {result.in_flight} their "
        f"deadlines), over the {result.open:,} open disputes until "
        f"{result.until.astimezone(zone):%Y-%m-%d}:"
    )
    table = Table(title="open disputes affected", title_justify="left")
    for col in ("decision", "current", "candidate", "candidate at once"):
        table.add_column(col, justify="left" if col == "decision" else "right")
    for kind in (
        "escalated",
        "elevated",
        "notice",
        "risk",
        "routed",
        "summoned",
        "leader",
        "rules",
    ):
        a, b = result.disputes[("current", kind)], result.disputes[("candidate", kind)]
        now = result.at_once[("candidate", kind)]
        if a or b:
            table.add_row(kind, f"{a:,}", f"{b:,}", f"{now:,}")
    console.print(table)
    if not result.forecasts:
        console.print("[green]no open dispute would be handled differently[/]")
        return
    label = result.current_rules.label
    shown = result.forecasts[:limit]
    console.print(
        Text(
            f"open disputes handled differently (first {len(shown)} of {result.changed:,}), "
            "each decision that changes: current rules → candidate",
            style="bold",
        )
    )
    for f in shown:
        due = f"due {f.due_at.astimezone(zone):%Y-%m-%d %H:%M}" if f.due_at else "no deadline"
        head = f"{f.dispute_id}  {label('tiers', f.tier)} {f.unit}  {due}"
        console.print(Text(head), soft_wrap=True)  # the whole id, on one line, to copy
        console.print(Padding(_changed_table(f, label, zone), (0, 0, 0, 4), expand=False))


def _changed_table(f: Forecast, label: Labeller, zone: ZoneInfo) -> Table:
    """One row per decision that differs: its kind, then current → candidate."""
    table = Table(box=None, show_header=False, padding=(0, 1, 0, 0))
    table.add_column("decision", no_wrap=True, style="bold")
    table.add_column("current", overflow="fold")
    table.add_column("→", no_wrap=True)
    table.add_column("candidate", overflow="fold")
    for kind, before, after in changed_decisions(f):
        table.add_row(
            Text(kind), Text(_said(before, label, zone)), "→", Text(_said(after, label, zone))
        )
    return table


def changed_decisions(f: Forecast) -> list[tuple[str, Upcoming | None, Upcoming | None]]:
    """The decisions of a kind the two futures take differently, paired in time order.

    ``None`` on a side: that future takes no such decision by the window's end.
    """
    kinds = list(dict.fromkeys(u.kind for u in (*f.current, *f.candidate)))
    out: list[tuple[str, Upcoming | None, Upcoming | None]] = []
    for kind in kinds:
        ours = [u for u in f.current if u.kind == kind]
        theirs = [u for u in f.candidate if u.kind == kind]
        for a, b in zip_longest(ours, theirs):
            if a is None or b is None or (a.at, a.what) != (b.at, b.what):
                out.append((kind, a, b))
    return out


def _said(u: Upcoming | None, label: Labeller, zone: ZoneInfo) -> str:
    if u is None:
        return "none"
    what = describe(u.event, rule=True, label=label, zone=zone) if u.event is not None else u.what
    return f"{u.at.astimezone(zone):%m-%d %H:%M} {what}"


def print_rule_diff(console: Console, changes: Sequence[RuleChange], a: str, b: str) -> None:
    if not changes:
        console.print(f"[green]no differences[/] in rule terms between {escape(a)} and {escape(b)}")
        return
    table = Table(title=Text(f"{a} → {b}: {counted(len(changes), 'change')}"), title_justify="left")
    for col in ("section", "what", "change", "before", "after"):
        table.add_column(col, overflow="fold")
    for ch in changes:
        table.add_row(*texts(ch.section, ch.key, ch.kind, ch.before, ch.after))
    console.print(table)


def _day(value: datetime | None, zone: ZoneInfo) -> str:
    return f"{value.astimezone(zone):%Y-%m-%d}" if isinstance(value, datetime) else "…"
