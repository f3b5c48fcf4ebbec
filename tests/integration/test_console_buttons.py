"""The dispute page's buttons: only what the role may do and the dispute's state allows."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from escalation import bootstrap
from escalation.application.access import Principal
from escalation.application.engine import EscalationEngine
from escalation.http import create_app
from escalation.http.auth import COOKIE
from escalation.policies.rulebook import RuleBook
from tests.helpers import T0, hours
from tests.integration.test_permitted import RULES, STATES, reach

_OPEN = {"mediate", "escalate", "summon", "assign_leader", "assess", "pause", "supervise", "close"}
_PAUSED = {"summon", "assign_leader", "assess", "resume", "supervise", "close"}
#: What the platform (every operation) is shown, state by state: written out, not computed.
SHOWN: dict[str, set[str]] = {
    "pending": {
        "accept",
        "decline",
        "summon",
        "assign_leader",
        "assess",
        "pause",
        "supervise",
        "close",
    },
    "paused while pending": _PAUSED,
    "declined": set(),
    "open": _OPEN,
    "at the top tier": _OPEN - {"escalate"},
    "paused": _PAUSED,
    "summoned": _OPEN | {"check_in"},
    "checked in": _OPEN | {"report_progress"},
    "settled": {"follow_up", "reopen", "supervise", "close"},
    "closed": {"reopen"},
    "closed and erased": {"reopen"},
}


@pytest.fixture
def service(db_url: str) -> Iterator[tuple[EscalationEngine, TestClient, dict[str, str]]]:
    rules = RuleBook.from_yaml(RULES, source="buttons.yaml")
    engine, tokens = bootstrap.open_service(rules, db_url, clock=lambda: T0 + hours(1))
    people = {
        "platform": Principal("平台", "platform"),
        "clerk": Principal("张三", "clerk", units=("d1",)),
        "court": Principal("法院", "department", department="court"),
        "bureau": Principal("人社局", "department", department="human_resources_bureau"),
    }
    secrets = {k: tokens.create(p, T0)[0] for k, p in people.items()}
    try:
        with TestClient(create_app(engine, tokens)) as client:
            yield engine, client, secrets
    finally:
        engine.shutdown()


def buttons(client: TestClient, secret: str, dispute: object) -> set[str]:
    client.cookies.set(COOKIE, secret)
    page = client.get(f"/d/{dispute}")
    assert page.status_code == 200, page.text
    return set(re.findall(r'id="do-([a-z_]+)"', page.text))


def test_every_state_of_the_table_is_checked() -> None:
    assert set(SHOWN) == set(STATES)


@pytest.mark.parametrize("name", list(SHOWN))
def test_the_buttons_follow_the_disputes_state(
    service: tuple[EscalationEngine, TestClient, dict[str, str]], name: str
) -> None:
    engine, client, secrets = service
    assert buttons(client, secrets["platform"], reach(engine, name)) == SHOWN[name]


def test_the_buttons_follow_the_role_too(
    service: tuple[EscalationEngine, TestClient, dict[str, str]],
) -> None:
    engine, client, secrets = service
    open_ = reach(engine, "open")
    assert buttons(client, secrets["clerk"], open_) == _OPEN - {
        "supervise",
        "assign_leader",
        "assess",
    }
    summoned = reach(engine, "summoned")  # the court is summoned; the bureau is not
    assert buttons(client, secrets["court"], summoned) == {"check_in"}
    engine.summon(summoned, lead="court", participants=["human_resources_bureau"], actor="a")
    assert buttons(client, secrets["bureau"], summoned) == {"check_in"}
    engine.check_in(summoned, department="court", actor="法院")
    assert buttons(client, secrets["court"], summoned) == {"report_progress"}
    assert buttons(client, secrets["bureau"], summoned) == {"check_in"}


def test_a_settled_dispute_is_followed_up_through_its_button(
    service: tuple[EscalationEngine, TestClient, dict[str, str]],
) -> None:
    engine, client, secrets = service
    settled = reach(engine, "settled")
    client.cookies.set(COOKIE, secrets["clerk"])
    done = client.post(f"/d/{settled}/follow_up", data={"outcome": "settled", "note": "协议已履行"})
    assert done.status_code == 200
    assert engine.get(settled).status == "closed"
    assert buttons(client, secrets["clerk"], settled) == {"reopen"}


def test_a_departments_queue_in_the_console(
    service: tuple[EscalationEngine, TestClient, dict[str, str]],
) -> None:
    engine, client, secrets = service
    summoned, other = reach(engine, "summoned"), reach(engine, "open")
    client.cookies.set(COOKIE, secrets["platform"])
    page = client.get("/queue", params={"department": "court"})
    assert page.status_code == 200
    assert 'name="department"' in page.text
    assert str(summoned) in page.text
    assert str(other) not in page.text
    assert client.get("/queue", params={"department": "court", "tier": "street"}).status_code == 422
    client.cookies.set(COOKIE, secrets["court"])
    assert str(summoned) in client.get("/queue", params={"department": "court"}).text
    client.cookies.set(COOKIE, secrets["bureau"])
    assert client.get("/queue", params={"department": "court"}).status_code == 403
