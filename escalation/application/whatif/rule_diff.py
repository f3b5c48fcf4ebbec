"""What changed between two rule books, in rule terms (pure).

Not a text diff: comments, layout and key order do not matter; a tier's time
limit, a notice moved on the ladder, a unit moved to another parent, a rule
whose condition changed or that moved in a first-match list do.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from escalation.policies.rulebook import RuleBook


@dataclass(frozen=True)
class RuleChange:
    section: str  # calendar, categories, sources, tiers, units, risk, elevate, routing,
    # departments, summon, leaders, labels
    key: str  # what in the section: a tier name, a unit id, a rule id...
    kind: str  # added | removed | changed | moved
    before: str
    after: str

    def __str__(self) -> str:
        if self.kind == "added":
            return f"{self.section} {self.key}: added ({self.after})"
        if self.kind == "removed":
            return f"{self.section} {self.key}: removed (was {self.before})"
        return f"{self.section} {self.key}: {self.before} → {self.after}"


def diff_rules(a: RuleBook, b: RuleBook) -> list[RuleChange]:
    """Every difference that changes what the rules do, section by section."""
    old, new = a.to_dict(), b.to_dict()
    out = [
        RuleChange("calendar", key, "changed", str(old[key]), str(new[key]))
        for key in ("calendar", "timezone")
        if old[key] != new[key]
    ]
    for key in ("holidays", "workdays", "categories", "sources"):
        section = "calendar" if key in ("holidays", "workdays") else key
        out += _members(section, key, old[key], new[key])
    out += _tiers(old["tiers"], new["tiers"])
    out += _units(old["units"], new["units"])
    out += _rules("risk", old["risk"], new["risk"], ("when", "level"), ordered=True)
    out += _rules("elevate", old["elevate"], new["elevate"], ("when", "to"), ordered=False)
    routing = ("when", "department", "at_once")
    old_routes, new_routes = _with_at_once(old["routing"]), _with_at_once(new["routing"])
    out += _rules("routing", old_routes, new_routes, routing, ordered=True)
    hours = [", ".join(d.get("working_hours", [])) or "any hour" for d in (old, new)]
    if hours[0] != hours[1]:
        out.append(RuleChange("calendar", "working_hours", "changed", *hours))
    out += _notice_conditions(old.get("notices", {}), new.get("notices", {}))
    out += _casework(a, b)
    out += _labels(old.get("labels", {}), new.get("labels", {}))
    return out


def _labels(old: dict[str, Any], new: dict[str, Any]) -> list[RuleChange]:
    """``labels:``: names people read (they decide nothing, but a rule owner reviews them)."""
    out: list[RuleChange] = []
    for kind in [*old, *(k for k in new if k not in old)]:
        before, after = old.get(kind, {}), new.get(kind, {})
        for code in [*before, *(c for c in after if c not in before)]:
            x, y = (_named(side.get(code)) for side in (before, after))
            if x != y:
                change = "added" if not x else "removed" if not y else "changed"
                out.append(RuleChange("labels", f"{kind}.{code}", change, x, y))
    return out


def _named(label: dict[str, Any] | None) -> str:
    if not label:
        return ""
    english = label.get("english")
    return f"{label['name']} ({english})" if english else str(label["name"])


def _with_at_once(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # ``at_once: false`` is left out of the plain data (it keeps old versions).
    return [{"at_once": False, **r} for r in rules]


def _notice_conditions(old: dict[str, Any], new: dict[str, Any]) -> list[RuleChange]:
    """``notices:``: which disputes each notice is sent to."""
    out: list[RuleChange] = []
    for notice in sorted(set(old) | set(new)):
        before = old[notice]["when"] if notice in old else "every dispute"
        after = new[notice]["when"] if notice in new else "every dispute"
        if _cel(before) != _cel(after):
            out.append(RuleChange("notices", f"{notice}.when", "changed", before, after))
    return out


def _casework(a: RuleBook, b: RuleBook) -> list[RuleChange]:
    """Departments, summons and leaders (吹哨报到, 领导包保), as the rules read them."""
    out: list[RuleChange] = []
    for section, old, new in (
        ("departments", _listed(a), _listed(b)),  # as listed: routing's own show there
        ("leaders", dict(a.leaders.people), dict(b.leaders.people)),
    ):
        for key in [*old, *(k for k in new if k not in old)]:
            if key not in new:
                out.append(RuleChange(section, key, "removed", old[key], ""))
            elif key not in old:
                out.append(RuleChange(section, key, "added", "", new[key]))
            elif old[key] != new[key]:
                out.append(RuleChange(section, key, "changed", old[key], new[key]))
    sa, sb, la, lb = a.summon, b.summon, a.leaders, b.leaders
    settings = (
        ("summon", "check_in_within", str(sa.check_in_within), str(sb.check_in_within)),
        ("summon", "feedback_every", str(sa.feedback_every), str(sb.feedback_every)),
        ("summon", "notices", str(sa.notices), str(sb.notices)),
        (
            "summon",
            "on_routing",
            ", ".join(sorted(sa.on_routing)),
            ", ".join(sorted(sb.on_routing)),
        ),
        ("leaders", "required_when", _source(la.required_when), _source(lb.required_when)),
        ("leaders", "within", str(la.within), str(lb.within)),
        ("leaders", "notices", str(la.notices), str(lb.notices)),
    )
    out += [RuleChange(sec, key, "changed", x, y) for sec, key, x, y in settings if x != y]
    return out


def _listed(book: RuleBook) -> dict[str, str]:
    return {d["id"]: d["name"] for d in book.to_dict().get("departments", [])}


def _source(condition: Any) -> str:
    return "none" if condition is None else str(condition.source)


def _members(section: str, key: str, old: Sequence[Any], new: Sequence[Any]) -> list[RuleChange]:
    gone = [RuleChange(section, str(v), "removed", key, "") for v in old if v not in new]
    came = [RuleChange(section, str(v), "added", "", key) for v in new if v not in old]
    return gone + came


def _tiers(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[RuleChange]:
    out: list[RuleChange] = []
    before, after = [t["name"] for t in old], [t["name"] for t in new]
    out += _members("tiers", "tiers", before, after)
    common = [n for n in before if n in after]
    if common != [n for n in after if n in before]:
        out.append(RuleChange("tiers", "order", "moved", " → ".join(before), " → ".join(after)))
    olds, news = {t["name"]: t for t in old}, {t["name"]: t for t in new}
    for name in common:
        o, n = olds[name], news[name]
        for key, show in (("handle_within", _limit), ("max_mediation_attempts", _attempts)):
            if o.get(key) != n.get(key):
                out.append(
                    RuleChange(
                        "tiers", f"{name}.{key}", "changed", show(o.get(key)), show(n.get(key))
                    )
                )
        out += _ladder(name, o.get("notices", []), n.get("notices", []))
    return out


def _limit(value: Any) -> str:
    """``5 workdays``, or ``default 15 workdays, high 3 workdays`` for a limit by risk."""
    if isinstance(value, dict):
        return ", ".join(f"{level} {limit}" for level, limit in value.items())
    return str(value)


def _attempts(value: Any) -> str:
    return "unlimited" if value is None else str(value)


def _ladder(tier: str, old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[RuleChange]:
    olds = {s["notice"]: float(s["at"]) for s in old}
    news = {s["notice"]: float(s["at"]) for s in new}
    key = f"{tier}.notices"
    out = [
        RuleChange("tiers", f"{key}.{n}", "removed", _pct(at), "")
        for n, at in olds.items()
        if n not in news
    ]
    out += [
        RuleChange("tiers", f"{key}.{n}", "added", "", f"at {_pct(at)}")
        for n, at in news.items()
        if n not in olds
    ]
    out += [
        RuleChange("tiers", f"{key}.{n}", "moved", f"at {_pct(olds[n])}", f"at {_pct(at)}")
        for n, at in news.items()
        if n in olds and olds[n] != at
    ]
    return out


def _pct(share: float) -> str:
    return f"{share * 100:g}%"


def _units(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[RuleChange]:
    olds, news = {u["id"]: u for u in old}, {u["id"]: u for u in new}
    out: list[RuleChange] = []
    for uid, u in olds.items():
        if uid not in news:
            out.append(RuleChange("units", uid, "removed", _unit(u), ""))
    for uid, u in news.items():
        if uid not in olds:
            out.append(RuleChange("units", uid, "added", "", _unit(u)))
            continue
        o = olds[uid]
        if (o["tier"], o.get("parent")) != (u["tier"], u.get("parent")):
            out.append(RuleChange("units", uid, "moved", _place(o), _place(u)))
        if o["name"] != u["name"]:
            out.append(RuleChange("units", f"{uid}.name", "changed", o["name"], u["name"]))
    return out


def _unit(u: dict[str, Any]) -> str:
    return f"{u['name']}, {_place(u)}"


def _place(u: dict[str, Any]) -> str:
    return f"{u['tier']}" + (f" under {u['parent']}" if u.get("parent") else "")


def _rules(
    section: str,
    old: list[dict[str, Any]],
    new: list[dict[str, Any]],
    fields: tuple[str, ...],
    *,
    ordered: bool,
) -> list[RuleChange]:
    """Rules matched by id; in first-match sections their order matters too."""
    olds, news = {r["id"]: r for r in old}, {r["id"]: r for r in new}

    def show(rule: dict[str, Any]) -> str:
        return ", ".join(f"{f}: {rule[f]}" for f in fields)

    out = [RuleChange(section, i, "removed", show(r), "") for i, r in olds.items() if i not in news]
    for rid, r in news.items():
        if rid not in olds:
            out.append(RuleChange(section, rid, "added", "", show(r)))
            continue
        for f in fields:
            before, after = olds[rid][f], r[f]
            same = _cel(before) == _cel(after) if f == "when" else before == after
            if not same:
                out.append(RuleChange(section, f"{rid}.{f}", "changed", str(before), str(after)))
    if ordered:
        was = [i for i in olds if i in news]
        now = [i for i in news if i in olds]
        stayed = _lcs(was, now)
        for rid in now:
            if rid not in stayed:
                where = f"position {was.index(rid) + 1}", f"position {now.index(rid) + 1}"
                out.append(RuleChange(section, rid, "moved", *where))
    return out


def _lcs(a: list[str], b: list[str]) -> set[str]:
    """The longest run of ids in the same relative order: the rules that did not move."""
    best = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) - 1, -1, -1):
        for j in range(len(b) - 1, -1, -1):
            best[i][j] = (
                best[i + 1][j + 1] + 1 if a[i] == b[j] else max(best[i + 1][j], best[i][j + 1])
            )
    kept: set[str] = set()
    i = j = 0
    while i < len(a) and j < len(b):
        if a[i] == b[j]:
            kept.add(a[i])
            i, j = i + 1, j + 1
        elif best[i + 1][j] > best[i][j + 1]:  # on ties, the rule that rose has moved
            i += 1
        else:
            j += 1
    return kept


_STRING = re.compile(r"""("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')""")
_AROUND = re.compile(r"\s*([()\[\],!<>=&|+\-*/%?:])\s*")


def _cel(condition: str) -> str:
    """A condition with insignificant whitespace removed (string literals untouched)."""
    parts = _STRING.split(condition)
    for i in range(0, len(parts), 2):  # even parts are outside string literals
        parts[i] = _AROUND.sub(r"\1", " ".join(parts[i].split()))
    return "".join(parts).strip()
