"""GET /enterprise/licenses/changes and the history's started/stopped counts (SPEC 7.2):
who started and who stopped consuming between two times, and why, on both databases."""

from __future__ import annotations

import itertools
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.builders import account, auth, connect, import_accounts, new_enterprise, push, report
from tests.conftest import OPERATOR_TOKEN

SERVER = "11111111-2222-3333-4444-555555555555"


async def history(cloud: httpx.AsyncClient, owner: str) -> list[dict[str, Any]]:
    response = await cloud.get("/enterprise/licenses/history", headers=auth(owner))
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()["entries"]
    return entries


async def changes(cloud: httpx.AsyncClient, owner: str, **params: Any) -> dict[str, Any]:
    response = await cloud.get("/enterprise/licenses/changes", headers=auth(owner), params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def all_changes(cloud: httpx.AsyncClient, owner: str, **params: Any) -> dict[str, Any]:
    """Every page, both lists joined."""
    first = await changes(cloud, owner, per_page=2, **params)
    started, stopped = list(first["started"]), list(first["stopped"])
    pages = -(-max(first["total_started"], first["total_stopped"]) // 2)
    for page in range(2, pages + 1):
        more = await changes(cloud, owner, per_page=2, page=page, **params)
        started += more["started"]
        stopped += more["stopped"]
    return {**first, "started": started, "stopped": stopped}


def who(person: dict[str, Any]) -> str:
    if person["cloud_account"] is not None:
        return f"cloud {person['cloud_account']['login']}"
    first = person["server_accounts"][0]
    return first["email"] or f"user {first['user_id']}"


def reasons(view: dict[str, Any], side: str) -> dict[str, str]:
    return {who(person): person["reason"] for person in view[side]}


async def test_a_new_report_lists_who_came_and_who_left_with_their_accounts(
    cloud: httpx.AsyncClient,
) -> None:
    owner = await new_enterprise(cloud)
    token = await connect(cloud, owner)
    await push(cloud, token, report([(1, "ann@example.com"), (2, "bob@example.com"), (3, None)]))
    await push(cloud, token, report([(1, "ann@example.com"), (4, "cy@example.com")], sequence=2))

    view = await changes(cloud, owner)  # by default: the latest entry's changes

    assert (view["from_total"], view["to_total"]) == (3, 2)
    assert (view["total_started"], view["total_stopped"]) == (1, 2)
    assert reasons(view, "started") == {"cy@example.com": "server_account_added"}
    assert reasons(view, "stopped") == {
        "bob@example.com": "server_account_removed",
        "user 3": "server_account_removed",
    }
    (came,) = view["started"]
    assert came["server_accounts"] == [
        {
            "server_id": SERVER,
            "hostname": "ghes.example.com",
            "user_id": 4,
            "email": "cy@example.com",
        }
    ]
    entries = await history(cloud, owner)
    assert [(e["cause"], e["started"], e["stopped"]) for e in entries] == [
        ("report", 3, 0),
        ("report", 1, 2),
    ]
    assert view["since"] == entries[0]["received_at"]


async def test_an_email_change_merges_splits_or_just_renames(cloud: httpx.AsyncClient) -> None:
    owner = await new_enterprise(cloud)
    await import_accounts(
        cloud,
        owner,
        [
            account(1, "mona", ["mona@example.com"], role=None),
            account(2, "hubot", ["hubot@example.com"]),
        ],
    )
    token = await connect(cloud, owner)
    await push(
        cloud, token, report([(1, "mona@example.com"), (2, "x@example.com"), (3, "y@example.com")])
    )
    # 1 leaves mona (who consumes only through it); 2 joins hubot; 3 is just renamed.
    await push(
        cloud,
        token,
        report([(1, "m@example.com"), (2, "hubot@example.com"), (3, "z@example.com")], sequence=2),
    )

    view = await changes(cloud, owner)

    assert reasons(view, "started") == {
        "m@example.com": "accounts_split",
        "z@example.com": "email_changed",
    }
    assert reasons(view, "stopped") == {
        "cloud mona": "accounts_split",
        "x@example.com": "accounts_merged",
        "y@example.com": "email_changed",
    }
    assert view["to_total"] - view["from_total"] == 2 - 3


async def test_an_accounts_import_is_an_entry_with_its_reasons(cloud: httpx.AsyncClient) -> None:
    owner = await new_enterprise(cloud)
    await import_accounts(
        cloud,
        owner,
        [
            account(1, "mona", ["mona@example.com"]),
            account(2, "hubot", ["hubot@example.com"], role=None),
            account(3, "octo", ["octo@example.com"]),
        ],
    )
    token = await connect(cloud, owner)
    await push(cloud, token, report([(1, "ann@example.com"), (2, "hubot@example.com")]))
    await import_accounts(
        cloud,
        owner,
        [
            account(2, "hubot", ["hubot@example.com"], role="member"),  # now an org member
            account(3, "octo", ["octo@example.com"], role=None),  # no longer one
            account(4, "ann", ["ann@example.com"]),  # new, and it is GHES user 1
            account(5, "ivy", ["ivy@example.com"]),  # new
        ],  # mona is gone
    )

    view = await changes(cloud, owner)

    assert reasons(view, "started") == {
        "cloud ann": "cloud_account_added",
        "cloud ivy": "cloud_account_added",
    }
    assert reasons(view, "stopped") == {
        "cloud mona": "cloud_account_removed",
        "cloud octo": "affiliation_changed",
        "ann@example.com": "cloud_account_added",
    }
    entries = await history(cloud, owner)
    assert [e["cause"] for e in entries] == ["accounts_import", "report", "accounts_import"]
    assert entries[-1]["report_id"] is None
    ann = next(p for p in view["started"] if who(p) == "cloud ann")
    assert [a["user_id"] for a in ann["server_accounts"]] == [1]


async def test_saml_switched_on_merges_by_identity_and_back_splits(
    cloud: httpx.AsyncClient,
) -> None:
    owner = await new_enterprise(cloud)
    saml = {"name_id": "mona@corp.example"}
    await import_accounts(cloud, owner, [account(1, "mona", [], role=None, saml_identity=saml)])
    token = await connect(cloud, owner)
    await push(cloud, token, report([(1, "mona@corp.example")]))

    await _patch(cloud, {"saml_enabled": True})
    merged = await changes(cloud, owner)
    await _patch(cloud, {"saml_enabled": False})
    split = await changes(cloud, owner)

    assert reasons(merged, "started") == {"cloud mona": "accounts_merged"}
    assert reasons(merged, "stopped") == {"mona@corp.example": "accounts_merged"}
    assert reasons(split, "started") == {"mona@corp.example": "accounts_split"}
    assert reasons(split, "stopped") == {"cloud mona": "accounts_split"}
    causes = [e["cause"] for e in await history(cloud, owner)]
    assert causes == ["accounts_import", "report", "saml_changed", "saml_changed"]
    await _patch(cloud, {"seats_purchased": 7})  # seats move no one: no entry
    assert len(await history(cloud, owner)) == 4


async def _patch(cloud: httpx.AsyncClient, body: dict[str, Any]) -> None:
    response = await cloud.patch("/admin/enterprises/acme", json=body, headers=auth(OPERATOR_TOKEN))
    assert response.status_code == 200, response.text


async def test_a_disconnect_stops_the_persons_only_that_instance_brought(
    cloud: httpx.AsyncClient,
) -> None:
    owner = await new_enterprise(cloud)
    await import_accounts(cloud, owner, [account(1, "mona", ["mona@example.com"])])
    first = await connect(cloud, owner)
    second = await connect(cloud, owner, hostname="two.example.com", server_id="two")
    await push(
        cloud,
        first,
        report([(1, "mona@example.com"), (2, "ann@example.com"), (3, "bob@example.com")]),
    )
    await push(
        cloud, second, report([(9, "bob@example.com")], server_id="two", hostname="two.example.com")
    )

    response = await cloud.delete(
        f"/enterprises/acme/server-instances/{SERVER}", headers=auth(owner)
    )
    assert response.status_code == 204
    view = await changes(cloud, owner)

    assert reasons(view, "stopped") == {"ann@example.com": "instance_disconnected"}
    assert view["started"] == []
    assert (view["from_total"], view["to_total"]) == (3, 2)
    last = (await history(cloud, owner))[-1]
    assert (last["cause"], last["server_id"], last["hostname"]) == (
        "instance_disconnected",
        SERVER,
        "ghes.example.com",
    )


async def test_a_reconnected_instance_brings_back_the_same_persons(
    cloud: httpx.AsyncClient,
) -> None:
    # A GHES account without an e-mail is a person of its own, named by its instance's
    # server_id: the same after a disconnect and a reconnect (a new connection row).
    owner = await new_enterprise(cloud)
    body = report([(1, None), (2, "ann@example.com")], server_id="one", hostname="one")
    await push(cloud, await connect(cloud, owner, hostname="one", server_id="one"), body)
    gone = await cloud.delete("/enterprises/acme/server-instances/one", headers=auth(owner))
    assert gone.status_code == 204
    again = report([(1, None), (2, "ann@example.com")], server_id="one", hostname="one")
    await push(cloud, await connect(cloud, owner, hostname="one", server_id="one"), again)
    entries = await history(cloud, owner)

    across = await changes(cloud, owner, since=entries[0]["received_at"])

    assert [(e["started"], e["stopped"]) for e in entries] == [(2, 0), (0, 2), (2, 0)]
    assert (across["total_started"], across["total_stopped"]) == (0, 0)


async def test_over_several_entries_only_the_net_change_counts(cloud: httpx.AsyncClient) -> None:
    owner = await new_enterprise(cloud)
    token = await connect(cloud, owner)
    sequence = itertools.count(1)
    await push(cloud, token, report([(1, "ann@example.com")], sequence=next(sequence)))
    await push(cloud, token, report([(2, "bob@example.com")], sequence=next(sequence)))
    await push(
        cloud,
        token,
        report([(1, "ann@example.com"), (3, "cy@example.com")], sequence=next(sequence)),
    )
    entries = await history(cloud, owner)

    view = await all_changes(
        cloud, owner, since=entries[0]["received_at"], until=entries[-1]["received_at"]
    )

    # ann left and came back, bob came and left: only cy is new.
    assert [who(p) for p in view["started"]] == ["cy@example.com"]
    assert view["stopped"] == []
    assert (view["from_total"], view["to_total"], view["entries"]) == (1, 2, 2)


async def test_changes_are_paged_in_listing_order(cloud: httpx.AsyncClient) -> None:
    owner = await new_enterprise(cloud)
    token = await connect(cloud, owner)
    users = [(n, f"u{n:02}@example.com") for n in range(1, 8)]
    await push(cloud, token, report(users))

    pages = [await changes(cloud, owner, page=page, per_page=3) for page in (1, 2, 3, 4)]

    listed = [who(p) for page in pages for p in page["started"]]
    assert listed == [email for _, email in users]
    assert [len(page["started"]) for page in pages] == [3, 3, 1, 0]
    assert all(page["total_started"] == 7 for page in pages)


async def test_before_any_history_everything_is_new_and_nothing_after_now(
    cloud: httpx.AsyncClient,
) -> None:
    owner = await new_enterprise(cloud)
    empty = await changes(cloud, owner)
    assert (empty["from_total"], empty["to_total"], empty["entries"], empty["since"]) == (
        0,
        0,
        0,
        None,
    )
    token = await connect(cloud, owner)
    await push(cloud, token, report([(1, "ann@example.com")]))
    latest = (await history(cloud, owner))[-1]["received_at"]

    view = await changes(cloud, owner, since="2000-01-01T00:00:00Z")
    later = await changes(cloud, owner, since=latest)

    assert (view["from_total"], view["to_total"], view["total_started"]) == (0, 1, 1)
    assert (later["from_total"], later["to_total"], later["entries"]) == (1, 1, 0)


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"since": "2026-11-27T12:00:00"}, "invalid_time"),
        ({"since": "2026-11-28T00:00:00Z", "until": "2026-11-27T00:00:00Z"}, "invalid_range"),
        ({"since": "last week"}, "invalid_input"),
        ({"per_page": 101}, "invalid_input"),
        ({"page": 0}, "invalid_input"),
        ({"page": 10**12}, "invalid_input"),
        ({"since": "0001-01-01T00:00:00+05:00"}, "invalid_time"),
    ],
)
async def test_bad_ranges_are_422_naming_the_problem(
    cloud: httpx.AsyncClient, params: dict[str, object], error: str
) -> None:
    owner = await new_enterprise(cloud)
    response = await cloud.get("/enterprise/licenses/changes", headers=auth(owner), params=params)
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == error
    assert body["detail"]


async def test_changes_need_an_owner_token(cloud: httpx.AsyncClient) -> None:
    response = await cloud.get("/enterprise/licenses/changes")
    assert response.status_code == 401


# -- the property: changes between any two entries add up and equal a fresh comparison ----

EMAILS = ["ann@example.com", "bob@example.com", "cy@example.com", "dee@example.com"]
INSTANCES = ("one", "two")

events = st.lists(
    st.one_of(
        st.tuples(
            st.just("report"),
            st.sampled_from(INSTANCES),
            st.lists(
                st.tuples(st.integers(1, 5), st.one_of(st.none(), st.sampled_from(EMAILS))),
                max_size=4,
                unique_by=lambda user: user[0],
            ),
        ),
        st.tuples(
            st.just("import"),
            st.lists(
                st.tuples(
                    st.integers(1, 4),
                    st.sampled_from([None, "member", "billing_manager"]),
                    st.sampled_from(EMAILS),
                ),
                max_size=3,
                unique_by=(lambda a: a[0], lambda a: a[2]),
            ),
        ),
        st.tuples(st.just("saml")),
        st.tuples(st.just("disconnect"), st.sampled_from(INSTANCES)),
    ),
    min_size=1,
    max_size=6,
)
_slugs = itertools.count()


class Model:
    """The enterprise as the test knows it, and the persons it makes, counted by hand."""

    def __init__(self) -> None:
        self.accounts: list[tuple[int, str | None, str]] = []
        self.saml = False
        self.reports: dict[str, list[tuple[int, str | None]]] = {}

    def persons(self) -> set[str]:
        """Consuming persons: cloud accounts by ID, else addresses, else GHES accounts."""
        owner = {email: account_id for account_id, _, email in self.accounts}
        found = {f"c{a}" for a, role, _ in self.accounts if role == "member"}
        for instance, users in self.reports.items():
            for user_id, email in users:
                if email is None:
                    found.add(f"g{instance}:{user_id}")
                elif email in owner:
                    found.add(f"c{owner[email]}")
                else:
                    found.add(f"e{email}")
        return found


def key_of(person: dict[str, Any]) -> str:
    if person["cloud_account"] is not None:
        return f"c{person['cloud_account']['id']}"
    first = person["server_accounts"][0]
    if first["email"] is not None:
        return f"e{first['email']}"
    return f"g{first['server_id']}:{first['user_id']}"


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=events)
async def test_changes_between_any_two_entries_equal_comparing_the_persons(
    cloud: httpx.AsyncClient, steps: list[tuple[Any, ...]]
) -> None:
    slug = f"p{next(_slugs)}"
    owner = await new_enterprise(cloud, slug)
    model, tokens, sequences = Model(), {}, dict.fromkeys(INSTANCES, 0)
    states = [(set(), 0)]  # before any entry: no one
    for step in steps:
        if not await _apply(cloud, owner, slug, step, model, tokens, sequences):
            continue
        persons = model.persons()
        states.append((persons, len(persons)))
    entries = await history(cloud, owner)
    assert [e["total_seats_consumed"] for e in entries] == [total for _, total in states[1:]]
    times = ["2000-01-01T00:00:00Z"] + [e["received_at"] for e in entries]
    for first, last in itertools.combinations_with_replacement(range(len(times)), 2):
        view = await all_changes(cloud, owner, since=times[first], until=times[last])
        (was, was_total), (now, now_total) = states[first], states[last]
        assert (view["from_total"], view["to_total"]) == (was_total, now_total)
        assert {key_of(p) for p in view["started"]} == now - was
        assert {key_of(p) for p in view["stopped"]} == was - now
        assert now_total - was_total == len(view["started"]) - len(view["stopped"])


async def _apply(
    cloud: httpx.AsyncClient,
    owner: str,
    slug: str,
    step: tuple[Any, ...],
    model: Model,
    tokens: dict[str, str],
    sequences: dict[str, int],
) -> bool:
    """Apply one step through the API and to the model; False when it made no entry."""
    kind = step[0]
    if kind == "report":
        _, instance, users = step
        if instance not in tokens:
            tokens[instance] = await connect(
                cloud, owner, slug=slug, hostname=instance, server_id=instance
            )
        sequences[instance] += 1
        body = report(users, server_id=instance, hostname=instance, sequence=sequences[instance])
        assert (await push(cloud, tokens[instance], body)).status_code == 201
        model.reports[instance] = users
    elif kind == "import":
        accounts = [account(a, f"l{a}", [email], role=role) for a, role, email in step[1]]
        assert (await import_accounts(cloud, owner, accounts, slug)).status_code == 200
        model.accounts = list(step[1])
    elif kind == "saml":  # no identities here: switching moves no one, but is an entry
        model.saml = not model.saml
        response = await cloud.patch(
            f"/admin/enterprises/{slug}",
            json={"saml_enabled": model.saml},
            headers=auth(OPERATOR_TOKEN),
        )
        assert response.status_code == 200
    else:
        instance = step[1]
        if instance not in tokens:
            return False
        response = await cloud.delete(
            f"/enterprises/{slug}/server-instances/{instance}", headers=auth(owner)
        )
        assert response.status_code == 204
        del tokens[instance]
        model.reports.pop(instance, None)
    return True
