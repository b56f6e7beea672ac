"""The database's part in sending once: leases on deliveries, slots of the periodic
checks, and stale instances announced once per stale period (with a clock of the test's)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from services.cloud_api.db.migrate import migrate
from services.cloud_api.db.models import (
    Enterprise,
    HookDelivery,
    HookDeliveryAttempt,
    Report,
    ServerInstance,
)
from services.cloud_api.domain.events.deliveries import (
    Attempt,
    RetryPolicy,
    claim_due,
    record_attempt,
)
from services.cloud_api.domain.events.instance_events import publish_stale_instances
from services.cloud_api.domain.events.periodic import run_checks, slot_of
from services.cloud_api.domain.events.publishing import publish
from services.cloud_api.domain.events.webhooks import HookInput, create_hook
from services.cloud_api.domain.events.worker import HookWorker, WorkerConfig
from services.cloud_api.domain.tenants.enterprises import create_enterprise
from services.cloud_api.domain.tenants.instances import connect_instance
from services.cloud_api.main import worker_config
from services.cloud_api.settings import Settings
from services.common.clock import utcnow
from services.common.db import make_engine, make_sessions

LEASE = timedelta(minutes=1)
SECRET = "hook-secret-of-the-claims-tests"


@pytest.fixture
def sessions(new_database_url: Callable[[], str]) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(new_database_url())
    migrate(engine)
    yield make_sessions(engine)
    engine.dispose()


def _enterprise_with_hook(sessions: sessionmaker[Session]) -> int:
    with sessions.begin() as session:
        enterprise = create_enterprise(
            session, slug="acme", name="Acme", seats_purchased=10, saml_enabled=False
        ).enterprise
        checked = HookInput(url="http://127.0.0.1:9/h", secret=SECRET, events=["*"])
        create_hook(session, enterprise, checked, consumed=0)
        return enterprise.id


def test_concurrent_senders_claim_each_delivery_once(sessions: sessionmaker[Session]) -> None:
    enterprise_id = _enterprise_with_hook(sessions)
    with sessions.begin() as session:
        for n in range(59):
            publish(session, enterprise_id, "server_usage.refused", {"action": "refused", "n": n})

    def claim_all(_worker: int) -> list[int]:
        mine: list[int] = []
        while claimed := claim_due(sessions, lease=LEASE, limit=7):
            mine += [c.id for c in claimed]
        return mine

    with ThreadPoolExecutor(max_workers=4) as pool:
        claims = list(pool.map(claim_all, range(4)))
    every = [delivery for mine in claims for delivery in mine]
    assert len(every) == len(set(every)) == 60  # 59 events and the hook's first ping


def test_an_expired_lease_is_claimed_again_and_the_old_sender_cannot_settle_it(
    sessions: sessionmaker[Session],
) -> None:
    _enterprise_with_hook(sessions)
    [first] = claim_due(sessions, lease=timedelta(0), limit=10)
    [second] = claim_due(sessions, lease=LEASE, limit=10)  # the first sender "died"
    assert (first.id, first.guid) == (second.id, second.guid)
    assert first.secret == SECRET
    assert SECRET not in repr(first)  # what a sender holds shows no secret if logged
    assert claim_due(sessions, lease=LEASE, limit=10) == []
    ok = Attempt(utcnow(), 0.1, 200)
    assert record_attempt(sessions, first, ok, RetryPolicy()) == "delivered"
    with sessions() as session:
        delivery = session.get_one(HookDelivery, first.id)
        assert (delivery.state, delivery.lease_token) == ("pending", second.lease_token)
    record_attempt(sessions, second, ok, RetryPolicy())
    with sessions() as session:
        assert session.get_one(HookDelivery, first.id).state == "delivered"


def test_retry_waits_grow_exponentially_up_to_the_cap() -> None:
    policy = RetryPolicy(base_seconds=30, cap_seconds=3600, rng=random.Random(7))
    for attempts, ceiling in [(1, 30), (2, 60), (3, 120), (7, 1920), (8, 3600), (20, 3600)]:
        for _ in range(50):
            assert ceiling / 2 <= policy.delay(attempts) <= ceiling


def test_by_default_a_failing_receiver_is_retried_for_more_than_a_day(
    sessions: sessionmaker[Session],
) -> None:
    """The defaults a deployment gets: a receiver answering 503 to every attempt is tried
    again, later and later, for more than a day (72 hours), then given up. Each attempt is
    made when the delivery says it is due, on a clock of the test's."""
    policy = worker_config(Settings()).retry
    _enterprise_with_hook(sessions)
    outcomes: list[str] = []
    [claimed] = claim_due(sessions, lease=LEASE, limit=10)
    at = claimed.created_at
    while True:
        outcomes.append(record_attempt(sessions, claimed, Attempt(at, 0.01, 503), policy))
        with sessions.begin() as session:
            delivery = session.get_one(HookDelivery, claimed.id)
            if delivery.state != "pending":
                break
            assert delivery.next_attempt_at > at  # a wait before each retry
            at = delivery.next_attempt_at
            delivery.next_attempt_at = utcnow()  # due now for claim_due, which reads the clock
        [claimed] = claim_due(sessions, lease=LEASE, limit=10)
    last_attempt = at - claimed.created_at
    assert timedelta(days=1) < last_attempt <= timedelta(hours=72)
    assert outcomes[:-1] == ["retry"] * (len(outcomes) - 1)
    assert outcomes[-1] == "gave_up"
    with sessions() as session:
        delivery = session.get_one(HookDelivery, claimed.id)
        logged = session.scalars(
            select(HookDeliveryAttempt).where(HookDeliveryAttempt.delivery_id == claimed.id)
        ).all()
    assert (delivery.state, delivery.status) == ("failed", "Invalid HTTP Response: 503; gave up")
    assert len(logged) == len(outcomes)  # the delivery log has every attempt
    assert all(attempt.status_code == 503 for attempt in logged)


def test_a_periodic_slot_runs_on_one_replica(sessions: sessionmaker[Session]) -> None:
    now = utcnow()
    period = timedelta(minutes=1)

    def run(_replica: int) -> bool:
        return run_checks(sessions, now, period=period, stale_after=timedelta(days=8))

    with ThreadPoolExecutor(max_workers=4) as pool:
        ran = list(pool.map(run, range(8)))
    assert ran.count(True) == 1
    assert run_checks(sessions, now + period, period=period, stale_after=timedelta(days=8))
    assert slot_of(now, period) <= now < slot_of(now, period) + period


def test_an_instance_is_announced_stale_once_per_stale_period(
    sessions: sessionmaker[Session],
) -> None:
    enterprise_id = _enterprise_with_hook(sessions)
    with sessions.begin() as session:
        enterprise = session.get_one(Enterprise, enterprise_id)
    limit = timedelta(days=8)
    now = utcnow()
    with sessions.begin() as session:
        instance = connect_instance(
            session,
            enterprise,
            hostname="ghes.example.com",
            server_id="srv-1",
            public_key=None,
            upload_only=False,
        ).instance
        instance_pk = instance.id

    def check(at: timedelta) -> int:
        with sessions.begin() as session:
            return publish_stale_instances(session, now + at, limit)

    assert check(timedelta(days=7)) == 0  # connected a week ago, never synced: not yet
    assert check(timedelta(days=8, minutes=1)) == 1
    assert check(timedelta(days=8, minutes=2)) == 0
    assert check(timedelta(days=30)) == 0  # still the same stale period
    _apply_report_at(sessions, instance_pk, now + timedelta(days=31))
    assert check(timedelta(days=38)) == 0
    assert check(timedelta(days=39, minutes=1)) == 1  # a new period, after that report
    with sessions() as session:
        stale = session.scalars(
            select(HookDelivery).where(HookDelivery.event == "server_instance.stale")
        ).all()
    assert len(stale) == 2
    assert '"server_id":"srv-1"' in stale[0].body


def _apply_report_at(sessions: sessionmaker[Session], instance_pk: int, when: datetime) -> None:
    """A report received at ``when``, written as ingest writes it."""
    with sessions.begin() as session:
        instance = session.get_one(ServerInstance, instance_pk)
        row = Report(
            report_id="r-1",
            enterprise_id=instance.enterprise_id,
            server_instance_pk=instance_pk,
            server_id="srv-1",
            hostname="ghes.example.com",
            sequence=1,
            content_hash="0" * 64,
            source="connect",
            ghes_version="3.14.2",
            generated_at=when,
            received_at=when,
            user_count=0,
            suspended_excluded=0,
        )
        session.add(row)
        session.flush()
        session.execute(
            update(ServerInstance)
            .where(ServerInstance.id == instance_pk)
            .values(current_report_pk=row.id)
        )


async def test_a_worker_stopped_just_as_it_is_woken_stops(
    sessions: sessionmaker[Session],
) -> None:
    """Waking and stopping in the same turn of the event loop: the stop must not be lost
    (with Python 3.11's asyncio.wait_for it was, and stop() never returned)."""
    worker = HookWorker(sessions, WorkerConfig(poll_seconds=60, period=timedelta(hours=1)))
    worker.start()
    # The private event: wake() defers to the next turn, and the race is within one turn.
    async with asyncio.timeout(10):
        # Until the deliver loop is asleep on the event: nothing signals that.
        while not worker._wake._waiters:  # type: ignore[attr-defined]  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    worker._wake.set()
    async with asyncio.timeout(10):  # a lost cancellation would wait here until it failed
        await worker.stop()
