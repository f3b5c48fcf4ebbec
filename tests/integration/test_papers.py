"""The papers (一表两单四函一书): drafted from the events, numbered once, printed in Chinese.

Each kind is rendered to PDF and read back with poppler (``pdftotext`` for the
number, addressee and time limit; ``pdffonts`` for an embedded CJK font;
``pdftoppm`` for ink where the title is drawn). ``scripts/ensure-print-tools``
installs poppler, Pango and the CJK font.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from typer.testing import CliRunner

from escalation import EscalationEngine, RuleBook
from escalation.adapters.paper_numbers import Register
from escalation.aggregates.dispute import Dispute
from escalation.application.access import Principal
from escalation.application.papers import KINDS, LETTERS, Paper, PaperDesk
from escalation.application.papers.drafts import drafts
from escalation.entrypoints.cli import app
from escalation.errors import Forbidden, InvalidInput

T0 = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)  # Monday 09:30 in Shanghai


@dataclass
class Case:
    engine: EscalationEngine
    main: UUID  # received, accepted, noticed, escalated, summoned, closed
    other: UUID  # declined at once
    url: str


@pytest.fixture(scope="module")
def case(module_new_db_url: Callable[[], str]) -> Iterator[Case]:
    url = module_new_db_url()
    now = [T0]
    # The default rule book with 受理 by hand, so that a receipt may be declined.
    rules = RuleBook.from_yaml(
        RuleBook.default().text + "\nacceptance: {mode: explicit, within: 1 workday}\n"
    )
    with EscalationEngine(rules, url=url, clock=lambda: now[0]) as engine:
        main = engine.receive(
            unit="huangbei-c01",
            category="wage_arrears",
            source="grid_patrol",
            summary="工地拖欠工资",
            parties=3,
            amount=42_000,
            received_at=T0,
            people=[{"name": "王小明", "phone": "13912345678"}],
        )
        engine.accept(main, actor="desk", at=T0 + timedelta(hours=1))
        now[0] = T0 + timedelta(days=10)
        engine.tick(now[0])  # reminder, prompt, warning at the community; then up to the street
        engine.supervise(main, notice="supervision", actor="lead", at=now[0])
        engine.summon(main, lead="human_resources_bureau", participants=["court"], actor="centre")
        now[0] = T0 + timedelta(days=14)
        engine.tick(now[0])  # missed check-ins: duty notices to the departments
        engine.close(main, outcome="resolved", actor="lead", at=now[0])
        other = engine.receive(
            unit="huangbei-c02",
            category="neighbour",
            source="walk_in",
            summary="漏水",
            received_at=now[0],
        )
        engine.decline(other, reason="不属于受理范围", actor="desk", at=now[0])
        yield Case(engine, main, other, url)


@pytest.fixture(scope="module")
def desk(case: Case) -> PaperDesk:
    return PaperDesk(case.engine)


@pytest.fixture(scope="module")
def by_kind(case: Case, desk: PaperDesk) -> dict[str, Paper]:
    """The last paper of each kind, over both disputes."""
    found = {p.kind: p for p in desk.papers(case.main)}
    found.update({p.kind: p for p in desk.papers(case.other) if p.kind not in found})
    return found


def poppler(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def test_every_kind_is_drafted(by_kind: dict[str, Paper]) -> None:
    assert set(by_kind) == {k.code for k in KINDS}


@pytest.mark.parametrize("kind", [k.code for k in KINDS])
def test_pdf_carries_number_addressee_and_time_limit(
    kind: str, by_kind: dict[str, Paper], tmp_path: Path
) -> None:
    paper = by_kind[kind]
    pdf = tmp_path / "paper.pdf"
    pdf.write_bytes(paper.pdf())
    text = "".join(poppler("pdftotext", "-raw", str(pdf), "-").split())
    assert paper.number in text
    assert paper.title in text
    # The parties' paper is addressed by name (the key is there); the others by unit.
    assert (paper.addressee in text) or ("王小明" in text and paper.addressee == "当事人")
    if kind == "result_notice":  # a closed case asks nothing more
        assert paper.time_limit == ""
    else:
        assert paper.time_limit
        assert "".join(paper.time_limit.split()) in text
    assert paper.date in text
    assert paper.issuer_name in text


def test_pdf_draws_the_chinese_with_an_embedded_cjk_font(
    by_kind: dict[str, Paper], tmp_path: Path
) -> None:
    pdf = tmp_path / "warning.pdf"
    pdf.write_bytes(by_kind["warning"].pdf())
    fonts = poppler("pdffonts", str(pdf)).splitlines()[2:]
    cjk = [line for line in fonts if "CJK" in line or "Han" in line]
    assert cjk, fonts
    assert all(line.split()[-5] == "yes" for line in cjk)  # the "emb" column
    # Render the page and look for ink: none in the margin, some where the title is.
    subprocess.run(
        ["pdftoppm", "-gray", "-r", "40", "-singlefile", str(pdf), str(tmp_path / "page")],
        check=True,
    )
    width, height, pixels = read_pgm(tmp_path / "page.pgm")

    def ink(top: float, bottom: float, left: float = 0.0, right: float = 1.0) -> float:
        rows = range(int(top * height), int(bottom * height))
        cols = range(int(left * width), int(right * width))
        dark = sum(1 for y in rows for x in cols if pixels[y * width + x] < 128)
        return dark / (len(rows) * len(cols))

    assert ink(0.0, 0.06) == 0  # the top margin is blank paper
    assert ink(0.06, 0.30, 0.3, 0.7) > 0.01  # letterhead, number and 预警函 are drawn
    assert ink(0.0, 1.0) < 0.2  # and the page is not one black box


def read_pgm(path: Path) -> tuple[int, int, bytes]:
    data = path.read_bytes()
    fields: list[bytes] = []
    pos = 0
    while len(fields) < 4:  # magic, width, height, maxval
        while data[pos : pos + 1].isspace():
            pos += 1
        end = pos
        while not data[end : end + 1].isspace():
            end += 1
        fields.append(data[pos:end])
        pos = end
    assert fields[0] == b"P5"
    return int(fields[1]), int(fields[2]), data[pos + 1 :]


def test_same_history_same_paper(case: Case, desk: PaperDesk) -> None:
    first = [(p.number, p.html) for p in desk.papers(case.main)]
    again = PaperDesk(case.engine)  # another desk, the same register
    assert [(p.number, p.html) for p in again.papers(case.main)] == first
    events = case.engine.history(case.main)
    assert drafts(events, case.engine.rules) == drafts(list(events), case.engine.rules)


def test_every_notice_event_gives_exactly_one_letter(case: Case, desk: PaperDesk) -> None:
    events = case.engine.history(case.main)
    notices = [
        e.originator_version for e in events if isinstance(e, Dispute.Supervised | Dispute.Notified)
    ]
    letters = [p.version for p in desk.papers(case.main) if p.kind in LETTERS]
    assert len(notices) >= 5  # the ladder, a manual 督办, the departments' notices
    assert letters == notices


def test_letters_are_addressed_to_whoever_must_act(case: Case, desk: PaperDesk) -> None:
    events = {e.originator_version: e for e in case.engine.history(case.main)}
    rules = case.engine.rules
    for p in desk.papers(case.main):
        e = events[p.version]
        if isinstance(e, Dispute.Supervised):
            assert p.addressee == rules.units[e.unit].name
            assert p.issuer == (rules.units[e.unit].parent or e.unit)
        if isinstance(e, Dispute.Notified):
            assert p.addressee == rules.departments.get(e.addressee, e.addressee)


def test_numbers_run_per_issuer_kind_and_year(case: Case, desk: PaperDesk) -> None:
    found = desk.papers(case.main)
    # The community's reminder (issued by the street) and the departments' duty
    # notices (issued by the street holding the case): one series.
    reminders = [p.number for p in found if p.kind == "reminder"]
    assert reminders == [f"黄贝综治〔2026〕催字第{i:04d}号" for i in range(1, len(reminders) + 1)]
    assert len(reminders) >= 2
    # Another kind, another issuer: series of their own.
    registration = next(p for p in found if p.kind == "registration")
    assert registration.number == "黄贝岭综治〔2026〕登字第0001号"
    supervision = [p.number for p in found if p.kind == "supervision"]
    assert supervision[0].endswith("督字第0001号")


def test_personal_data_only_when_asked_and_keyed(case: Case, by_kind: dict[str, Paper]) -> None:
    assert "王小明" in by_kind["registration"].html
    assert "工地拖欠工资" in by_kind["registration"].html
    without = PaperDesk(case.engine, personal_data=False).paper(case.main, "registration")
    assert "王小明" not in without.html
    assert "工地拖欠工资" not in without.html
    assert without.number == by_kind["registration"].number


def test_a_desk_for_a_principal_keeps_to_its_scope(case: Case) -> None:
    clerk = PaperDesk(case.engine, principal=Principal("li", "clerk", ("huangbei",)))
    registration = clerk.paper(case.main, "registration")
    assert "王小明" in registration.html
    assert clerk.day("huangbei", date(2026, 3, 12))
    with pytest.raises(Forbidden, match="letters of luohu"):
        clerk.day("luohu", date(2026, 3, 12))
    other_street = PaperDesk(case.engine, principal=Principal("wu", "clerk", ("guiyuan",)))
    with pytest.raises(Forbidden, match="see dispute"):
        other_street.papers(case.main)
    auditor = PaperDesk(case.engine, principal=Principal("zhao", "auditor"))
    seen = auditor.paper(case.main, "registration")
    assert seen.number == registration.number  # the same paper, its number given once
    assert "王小明" not in seen.html
    assert "工地拖欠工资" not in seen.html
    with pytest.raises(Forbidden, match="history"):
        PaperDesk(case.engine, principal=Principal("qian", "rule_owner")).papers(case.main)
    with pytest.raises(InvalidInput, match="not both"):
        PaperDesk(case.engine, principal=Principal("li", "clerk", ("huangbei",)), history=list)


def test_a_days_letters(case: Case, desk: PaperDesk) -> None:
    day = date(2026, 3, 12)
    found = desk.day("huangbei", day)
    assert found
    assert all(p.issuer == "huangbei" and p.date == "2026年3月12日" for p in found)
    # The street's supervision letter comes from the district's centre.
    assert [p.kind for p in desk.day("luohu", day)] == ["supervision"]
    assert desk.day("guiyuan", day) == []
    assert desk.day("huangbei", day + timedelta(days=1)) != found
    with pytest.raises(InvalidInput, match="huangbei"):
        desk.day("huangbeii", day)


def test_a_centre_overrides_letterhead_and_numbers(case: Case, tmp_path: Path) -> None:
    (tmp_path / "base.html.j2").write_text(
        "<html><body><p>罗湖区社会治理中心（红头）</p><p>{{ paper.number }}</p>"
        "<p>{{ paper.addressee }}</p>{% block body %}{% endblock %}</body></html>",
        encoding="utf-8",
    )
    (tmp_path / "papers.yaml").write_text("prefixes: {huangbei: 黄贝综治办}\n", encoding="utf-8")
    desk = PaperDesk(case.engine, templates=tmp_path)
    warning = desk.paper(case.main, "warning")
    assert "罗湖区社会治理中心（红头）" in warning.html
    assert warning.number.startswith("黄贝综治办〔2026〕警字第")
    with pytest.raises(InvalidInput, match="does not exist"):
        PaperDesk(case.engine, templates=tmp_path / "missing")


def test_unknown_kind_and_missing_paper(case: Case, desk: PaperDesk) -> None:
    with pytest.raises(InvalidInput, match="did you mean reminder"):
        desk.paper(case.main, "remind")
    with pytest.raises(InvalidInput, match="no registration paper for event 3"):
        desk.paper(case.main, "registration", version=3)


def test_a_number_is_given_once_under_concurrent_workers(case: Case) -> None:
    register = Register(case.engine.store.database)
    papers = [uuid4() for _ in range(12)]

    def allocate(dispute: UUID) -> int:
        return register.allocate(dispute, 1, "prompt", issuer="test-unit", year=2030, now=T0).seq

    with ThreadPoolExecutor(max_workers=6) as pool:
        # Every paper asked for twice, by different workers.
        seqs = list(pool.map(allocate, papers + papers))
    assert seqs[:12] == seqs[12:]
    assert sorted(seqs[:12]) == list(range(1, 13))


def test_cli_paper_and_papers(case: Case, tmp_path: Path) -> None:
    runner = CliRunner(env={"COLUMNS": "200"})
    pdf = tmp_path / "w.pdf"
    result = runner.invoke(
        app,
        ["paper", str(case.main), "--kind", "warning", "--pdf", str(pdf), "--db", case.url],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert pdf.read_bytes().startswith(b"%PDF")
    result = runner.invoke(
        app, ["paper", str(case.main), "--kind", "registration", "--db", case.url]
    )
    assert result.exit_code == 0, result.output
    assert "登记受理表" in result.output
    result = runner.invoke(
        app,
        [
            "papers",
            "--unit",
            "huangbei",
            "--date",
            "2026-03-12",
            "--db",
            case.url,
            "--out",
            str(tmp_path / "out"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert str(case.main) in result.output  # the id whole
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written and all(name.endswith(".html") for name in written)
    assert "papers" in result.output


def test_cli_without_the_master_key_prints_the_form_sealed(case: Case) -> None:
    runner = CliRunner(env={"ESCALATION_MASTER_KEY": None, "ESCALATION_KEY_FILE": None})
    result = runner.invoke(
        app, ["paper", str(case.main), "--kind", "registration", "--db", case.url]
    )
    assert result.exit_code == 0, result.output
    assert "登记受理表" in result.output
    assert "王小明" not in result.output
    assert "工地拖欠工资" not in result.output
    assert "个人信息已加密" in result.output


def test_reports_read_labels_and_list_notices_in_ladder_order(case: Case) -> None:
    from escalation.application.figures_report import figures_rows

    rows = dict(figures_rows(case.engine.figures("2026-03"), case.engine.rules.label))
    notices = [name.removeprefix("notices: ") for name in rows if name.startswith("notices: ")]
    assert notices == ["催办函", "提示函", "预警函", "督办函"]  # the ladder, not A-Z
    assert "  at 社区" in rows
    assert "settled without leaving the 街道" in rows
    coded = dict(figures_rows(case.engine.figures("2026-03")))  # codes when asked for none
    assert "notices: reminder" in coded
