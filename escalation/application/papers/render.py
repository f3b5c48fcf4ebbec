"""Papers as HTML (Jinja2, autoescaped, print CSS for A4) and as PDF (WeasyPrint).

Templates are looked up first in a centre's own folder (the ``papers/``
folder beside its rule book, or one given), then in this package: a centre
overrides ``base.html.j2`` for its letterhead, or one kind's template
(``reminder.html.j2`` ...), and keeps the rest. A ``papers.yaml`` in that
folder may name the centres and their number prefixes::

    prefixes: {luohu: 罗综治, huangbei: 黄综治}
    centres: {luohu: 罗湖区综治中心}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, select_autoescape

from escalation.errors import InvalidInput

STYLE_FILE = "papers.yaml"


@dataclass(frozen=True)
class Style:
    """A centre's own names and number prefixes (``papers.yaml``), by unit id."""

    prefixes: Mapping[str, str] = field(default_factory=dict)
    centres: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, folder: Path | None) -> Style:
        path = None if folder is None else folder / STYLE_FILE
        if path is None or not path.is_file():
            return cls()
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise InvalidInput(f"{path}: cannot read it ({exc})") from exc
        if not isinstance(raw, dict) or set(raw) - {"prefixes", "centres"}:
            raise InvalidInput(f"{path}: expected the keys prefixes and centres (both optional)")
        return cls(
            prefixes={str(k): str(v) for k, v in (raw.get("prefixes") or {}).items()},
            centres={str(k): str(v) for k, v in (raw.get("centres") or {}).items()},
        )

    def prefix(self, unit: str, unit_name: str, *, top: bool) -> str:
        """The unit's mark in a number: given; else 综治 after its name's stem.

        A top-tier unit (one per store) takes its first character (罗湖区: 罗综治);
        the units below keep their name without the tier's word (黄贝街道: 黄贝综治,
        黄贝岭社区: 黄贝岭综治), so that two units' numbers never read alike.
        """
        given = self.prefixes.get(unit)
        if given:
            return given
        if top:
            return f"{unit_name[:1]}综治"
        return f"{_stem(unit_name)}综治"

    def centre(self, unit: str, unit_name: str) -> str:
        return self.centres.get(unit) or f"{unit_name}综治中心"


def _stem(name: str) -> str:
    for word in TIER_WORDS:
        if name.endswith(word) and len(name) > len(word):
            return name[: -len(word)]
    return name


#: The words that end a unit's name by its tier (黄贝街道, 黄贝岭社区, 罗湖区 ...).
TIER_WORDS = ("街道", "社区", "乡镇", "镇", "乡", "村", "区", "县")


def environment(folder: Path | None) -> Environment:
    """The templates: the centre's folder first, then the defaults of this package."""
    loaders: list[Any] = []
    if folder is not None and folder.is_dir():
        loaders.append(FileSystemLoader(folder))
    loaders.append(PackageLoader("escalation.application.papers", "templates"))
    return Environment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(default=True, default_for_string=True),
        keep_trailing_newline=True,
    )


def number_text(prefix: str, year: int, mark: str, seq: int) -> str:
    """罗综治〔2026〕催字第0012号."""
    return f"{prefix}〔{year}〕{mark}字第{seq:04d}号"


def date_text(at: datetime, zone: ZoneInfo) -> str:
    local = at.astimezone(zone)
    return f"{local.year}年{local.month}月{local.day}日"


def limit_text(at: datetime, zone: ZoneInfo) -> str:
    """A time limit as a clerk writes it, with the zone's offset: 2026年3月8日24时前（UTC+08:00）.

    A limit at local midnight ends the day before (the rule book's "N
    workdays" end then): it is written as that day's 24时.
    """
    local = at.astimezone(zone)
    offset = local.strftime("%z")
    zone_text = f"UTC{offset[:3]}:{offset[3:]}"
    if (local.hour, local.minute, local.second) == (0, 0, 0):
        day = local - timedelta(days=1)
        return f"{day.year}年{day.month}月{day.day}日24时前（{zone_text}）"
    return f"{local.year}年{local.month}月{local.day}日{local:%H:%M}前（{zone_text}）"


def pdf_of(html: str) -> bytes:
    """The paper as PDF (A4, fonts embedded), drawn by WeasyPrint."""
    # Imported here: WeasyPrint loads Pango on import, which nothing else needs.
    from weasyprint import HTML  # noqa: PLC0415 - see above

    return bytes(HTML(string=html).write_pdf())
