"""Notification dispatch: outbox, delivery, and the dispatch event, exactly once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import asyncpg
import pytest
from dueprocess.activities.contracts import DispatchInput, OutgoingNotification
from dueprocess.activities.notifications import NotificationActivities
from dueprocess.domain.base import Personal, personal
from dueprocess.domain.streams import case_stream
from dueprocess.services import notifications
from dueprocess.services.notice_relay import NoticeRelay
from dueprocess.services.notifications import FileSink, SmtpSink, compose, notification_stream
from dueprocess.store.db import Pool
from dueprocess.store.eventstore import EventStore
from dueprocess.store.outbox import Notices, queue
from fixtures.caselog import CLOSED, case_appends, people_of
from fixtures.events import ev
from fixtures.roles import app_pool  # noqa: F401  (the application role's pool)


def _request(case_id: str = "c1") -> DispatchInput:
    return DispatchInput(
        case_id=case_id, caused_by=uuid.uuid4(), requested_at=datetime.now(UTC),
        notifications=[OutgoingNotification(
            notification_id=f"{uuid.uuid4()}:respondent", recipient_role="respondent",
            recipient_subject_id="m-1", recipient_name="Daniel Okafor",
            address="daniel@example.org", subject="Notice of allegations",
            body="You are invited to respond by 5 March.")],
    )


async def test_a_retried_dispatch_sends_once_and_records_once(
    store: EventStore, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    activities = NotificationActivities(pool, store, FileSink(tmp_path), "dp@example.org")
    request = _request()
    first = await activities.dispatch_notifications(request)
    again = await activities.dispatch_notifications(request)  # Temporal retried it
    assert len(first.dispatched) == 1 and again.already_sent == first.dispatched
    [mail] = await asyncio.to_thread(lambda: [p.read_text() for p in tmp_path.glob("*.eml")])
    assert "Notice of allegations" in mail
    [event] = await store.read_stream(notification_stream("c1"))
    assert event.event_type == "NotificationDispatched"
    assert event.payload["address"]["value"] == "daniel@example.org"  # stored encrypted
    assert await pool.fetchval("SELECT sent_at IS NOT NULL FROM outbox") is True


async def test_a_staff_notice_goes_to_its_roles_mailbox_and_records_no_address(
    store: EventStore, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    # Given an escalation's staff notice to the case officer, whose mailbox is configured
    request = DispatchInput(
        case_id="c-staff", caused_by=uuid.uuid4(), requested_at=datetime.now(UTC),
        notifications=[OutgoingNotification(
            notification_id=f"{uuid.uuid4()}:case_officer", recipient_role="case_officer",
            recipient_subject_id="role:case_officer", recipient_name=None, address=None,
            subject="Case c-staff: deadline missed, escalated",
            body="The triage deadline was missed. Next step: triage it now.")])
    activities = NotificationActivities(pool, store, FileSink(tmp_path), "dp@example.org",
                                        {"case_officer": "officers@example.org"})
    # When it is dispatched
    await activities.dispatch_notifications(request)
    # Then the letter goes to the role's mailbox, and the record names the role, no address
    [path] = await asyncio.to_thread(lambda: list(tmp_path.glob("*.eml")))
    message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    assert (message["To"], message["X-Subject-Id"]) == ("officers@example.org",
                                                          "role:case_officer")
    [event] = await store.read_stream(notification_stream("c-staff"))
    assert (event.payload["recipient_role"], event.payload["address"]) == ("case_officer", None)

def _two_letters(case_id: str) -> DispatchInput:
    """A dispatch of two letters: the respondent's, then the complainant's."""
    one = _request(case_id).notifications[0]
    two = one.model_copy(update={"notification_id": f"{uuid.uuid4()}:complainant",
                                 "recipient_role": "complainant"})
    return _request(case_id).model_copy(update={"notifications": [one, two]})



class _FailsOnce(FileSink):
    """A file sink whose second letter fails once (an SMTP server refusing a recipient)."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.sent: list[str] = []
        self.failed = False

    async def send(self, message: EmailMessage) -> None:
        if len(self.sent) == 1 and not self.failed:
            self.failed = True
            raise OSError("recipient refused")
        await super().send(message)
        self.sent.append(str(message["X-Notification-Id"]))


async def test_a_batch_failing_midway_keeps_what_was_sent_and_never_sends_it_again(
    store: EventStore, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    # Given a dispatch of two letters whose second fails on the first attempt
    request = _two_letters("c2")
    one, two = request.notifications
    sink = _FailsOnce(tmp_path)
    activities = NotificationActivities(pool, store, sink, "dp@example.org")
    # When it is attempted, fails, and Temporal retries it
    with pytest.raises(OSError):
        await activities.dispatch_notifications(request)
    retried = await activities.dispatch_notifications(request)
    # Then each letter was sent once, and each dispatch recorded once
    assert sink.sent == [one.notification_id, two.notification_id]
    assert retried.already_sent == [one.notification_id]
    assert retried.dispatched == [two.notification_id]
    events = await store.read_stream(notification_stream("c2"))
    assert sorted(e.payload["notification_id"] for e in events) == sorted(sink.sent)
    assert await pool.fetchval(
        "SELECT count(*) FROM outbox WHERE case_id = 'c2' AND sent_at IS NOT NULL") == 2


async def test_a_failed_letter_leaves_its_row_unsent_and_the_retry_counts_the_attempt(
    store: EventStore, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    # Given a dispatch of two letters whose second fails on the first attempt
    request = _two_letters("c5")
    one, two = request.notifications
    activities = NotificationActivities(pool, store, _FailsOnce(tmp_path), "dp@example.org")
    rows = "SELECT notification_id, sent_at IS NOT NULL AS sent, attempts FROM outbox"
    # When it is attempted and fails
    with pytest.raises(OSError):
        await activities.dispatch_notifications(request)
    # Then the sent letter's row is sent, the failed one's is left unsent, for operators
    assert {(r["notification_id"], r["sent"], r["attempts"]) for r in await pool.fetch(rows)} \
        == {(one.notification_id, True, 0), (two.notification_id, False, 0)}
    # And when Temporal retries it, both rows are sent, each attempt on a row counted
    await activities.dispatch_notifications(request)
    assert {(r["notification_id"], r["sent"], r["attempts"]) for r in await pool.fetch(rows)} \
        == {(one.notification_id, True, 1), (two.notification_id, True, 1)}


async def test_the_application_role_queues_and_posts_notices(
    app_pool: Pool, tmp_path: Path  # noqa: F811
) -> None:
    # Given the worker's store, notification activities and relay, logged in as the
    # application role
    app = EventStore(app_pool)
    activities = NotificationActivities(app_pool, app, FileSink(tmp_path), "dp@example.org")
    relay = NoticeRelay(app_pool, app, activities.dispatch, "file", grace=timedelta(0))
    decision = ev()
    request = _request("c6").model_copy(update={"caused_by": decision.event_id})
    # When a decision is appended with its notices, which the relay then takes (and a
    # retry appends and hands them again)
    for _ in range(2):
        await app.append(case_stream("c6"), 0, [decision], relay.notices([request]))
        assert relay.taken([request]) == [request.caused_by]
        await relay.idle()
    # Then the letter is written once, its dispatch recorded and its row sent, and the
    # relay's sweep (its claim) finds nothing left
    assert await relay.sweep() == 0
    assert len(await asyncio.to_thread(lambda: list(tmp_path.glob("*.eml")))) == 1
    [event] = await app.read_stream(notification_stream("c6"))
    assert event.event_type == "NotificationDispatched"
    assert await app_pool.fetchval("SELECT sent_at IS NOT NULL FROM outbox") is True


async def test_a_running_relay_takes_more_due_rows_than_one_pass_claims(
    store: EventStore, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    # Given more due rows than one pass of a sweep claims (for events it cannot find)
    count = 150
    await queue(pool, Notices([f"n{i}" for i in range(count)], ["c-gone"] * count,
                              [uuid.uuid4() for _ in range(count)], ["respondent"] * count,
                              "file", timedelta(0), wake=False))
    activities = NotificationActivities(pool, store, FileSink(tmp_path), "dp@example.org")
    relay = NoticeRelay(pool, store, activities.dispatch, "file", grace=timedelta(0))
    # When the relay runs, sweeping only every minute
    stop = asyncio.Event()
    running = asyncio.create_task(relay.run(stop, every=60))
    claimed = 0
    for _ in range(100):
        claimed = await pool.fetchval("SELECT count(*) FROM outbox WHERE attempts > 0")
        if claimed == count:
            break
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(running, 5)
    # Then its first sweep claimed them all, pass after pass, without waiting a minute
    assert claimed == count


async def test_dispatches_of_one_case_at_the_same_moment_are_each_recorded_once(
    store: EventStore, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    # Given four dispatches of one case, each with its own letter, none recorded yet
    activities = NotificationActivities(pool, store, FileSink(tmp_path), "dp@example.org")
    requests = [_request("c3") for _ in range(4)]
    # When they run at once (their appends to the case's notification stream race)
    results = await asyncio.gather(*(activities.dispatch_notifications(r) for r in requests))
    # Then every letter was sent and its dispatch recorded once, and every row marked sent
    sent = [i for r in results for i in r.dispatched]
    assert sorted(sent) == sorted(r.notifications[0].notification_id for r in requests)
    events = await store.read_stream(notification_stream("c3"))
    assert sorted(e.payload["notification_id"] for e in events) == sorted(sent)
    assert await pool.fetchval(
        "SELECT count(*) FROM outbox WHERE case_id = 'c3' AND sent_at IS NOT NULL") == 4


class _SmtpPeer:
    """A minimal SMTP server on loopback that accepts and keeps messages."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 test ESMTP\r\n")
        while line := await reader.readline():
            verb = line.decode().strip().upper()
            if verb.startswith(("EHLO", "HELO")):
                writer.write(b"250 test\r\n")
            elif verb == "DATA":
                writer.write(b"354 go ahead\r\n")
                await writer.drain()
                body = []
                while (data := await reader.readline()) != b".\r\n":
                    body.append(data.decode())
                self.messages.append("".join(body))
                writer.write(b"250 queued\r\n")
            elif verb == "QUIT":
                writer.write(b"221 bye\r\n")
                await writer.drain()
                break
            else:
                writer.write(b"250 ok\r\n")
            await writer.drain()
        writer.close()


@pytest.fixture
async def smtp_peer() -> AsyncIterator[tuple[_SmtpPeer, int]]:
    peer = _SmtpPeer()
    server = await asyncio.start_server(peer.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield peer, port


async def test_smtp_delivery_when_configured(
    store: EventStore, pool: asyncpg.Pool, smtp_peer: tuple[_SmtpPeer, int]
) -> None:
    peer, port = smtp_peer
    sink = SmtpSink(f"smtp://127.0.0.1:{port}")
    activities = NotificationActivities(pool, store, sink, "dp@example.org")
    result = await activities.dispatch_notifications(_request("c2"))
    assert len(result.dispatched) == 1
    [message] = peer.messages
    assert "To: daniel@example.org" in message and "Notice of allegations" in message
    [event] = await store.read_stream(notification_stream("c2"))
    assert event.payload["channel"] == "smtp"


def _note(subject_id: str, address: str, body: str, details: list[Personal] | None = None,
          ) -> OutgoingNotification:
    return OutgoingNotification(
        notification_id=f"{uuid.uuid4()}:respondent", recipient_role="respondent",
        recipient_subject_id=subject_id, recipient_name=None, address=address,
        subject="Notice", body=body, details=details or [])


async def test_forgetting_a_person_keeps_other_peoples_letters_at_a_shared_address(
    tmp_path: Path,
) -> None:
    # Given letters to two people who share an e-mail address (and a surname), and a
    # letter to a third that names the first
    sink = FileSink(tmp_path / "outbox")
    shared = "family@example.org"
    await sink.send(compose(_note("m-1", shared, "Dear Okafor, a letter for m-1."), "dp@x"))
    await sink.send(compose(_note("m-2", shared, "Dear Okafor, a letter for m-2."), "dp@x"))
    await sink.send(compose(_note("m-3", "c@example.org", "Notice.", [
        personal("m-3", "your particulars"), personal("m-1", "Okafor"),
        personal("m-2", "Okafor")]), "dp@x"))
    # When m-1 is forgotten
    assert await sink.forget("m-1") == 2
    # Then only m-1's letter is gone and only m-1's detail is erased, wherever the values
    # match someone else's
    mails = {str(m["X-Subject-Id"]): m for m in _read_all(tmp_path / "outbox")}
    assert set(mails) == {"m-2", "m-3"}
    assert mails["m-2"]["To"] == shared and "Okafor" in mails["m-2"].get_content()
    assert mails["m-3"].get_content().endswith(
        "- your particulars\n- [erased]\n- Okafor\n")
    # and forgetting m-2 afterwards still finds theirs (the record was kept in step)
    assert await sink.forget("m-2") == 2
    [left] = _read_all(tmp_path / "outbox")
    assert left.get_content().endswith("- your particulars\n- [erased]\n- [erased]\n")


async def test_the_outbox_is_private(tmp_path: Path) -> None:
    sink = FileSink(tmp_path / "outbox")
    await sink.send(compose(_note("m-1", "a@example.org", "Hello"), "dp@x"))
    assert (tmp_path / "outbox").stat().st_mode & 0o777 == 0o700
    [path] = (tmp_path / "outbox").glob("*.eml")
    assert path.stat().st_mode & 0o777 == 0o600
    await sink.send(compose(_note("m-2", "b@example.org", "Hi", [personal("m-1", "x y")]),
                            "dp@x"))
    await sink.forget("m-1")
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in (tmp_path / "outbox").iterdir())


def _read_all(directory: Path) -> list[EmailMessage]:
    mails = []
    for path in sorted(directory.glob("*.eml")):
        mail = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        assert isinstance(mail, EmailMessage)
        mails.append(mail)
    return mails


def test_letters_parse_their_headers_once_and_keep_the_default_policys_bytes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # given letters to the same person and to others, with details and non-ASCII text
    letters = [_note("m-1", "a@example.org", "Dear Zoë, a letter.", [personal("m-2", "Ōkafor")]),
               _note("m-1", "a@example.org", "Dear Zoë, another letter."),
               _note("m-2", "b@example.org", "Hi " * 400)]
    # when each is composed with the letters' policy, and again with email's default
    notifications._parsed.cache_clear()
    cached = [bytes(compose(n, "dp@example.org")) for n in letters]
    monkeypatch.setattr(notifications, "LETTERS", policy.default)
    default = [bytes(compose(n, "dp@example.org")) for n in letters]
    # then the bytes are the same, what one letter parsed the next one reuses, and only
    # the headers every letter carries alike are kept (no address, subject or record)
    assert cached == default
    assert notifications._parsed.cache_info().hits > 0
    kept = notifications._parsed.cache_info().currsize
    assert kept <= 6  # From, MIME-Version and the content headers' few values
    notifications.LETTERS.header_factory("To", "someone@example.org")
    notifications.LETTERS.header_factory("Subject", "Notice to Zoë")
    assert notifications._parsed.cache_info().currsize == kept


async def test_a_letter_composed_after_an_erasure_carries_none_of_the_erased_data(
    store: EventStore, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    # Given a case whose events send its respondent letters, and a relay that has composed
    # one of them (with the respondent's name and address)
    people = people_of(1, 5)
    version = 0
    for events in case_appends(CLOSED, "c-erased", people):
        await store.append(case_stream("c-erased"), version, events)
        version += len(events)
    activities = NotificationActivities(pool, store, FileSink(tmp_path), "dp@example.org")
    relay = NoticeRelay(pool, store, activities.dispatch, "file", grace=timedelta(0))

    async def to_respondent(event_id: uuid.UUID) -> list[OutgoingNotification]:
        composed = await relay.composed("c-erased", event_id)
        return [n for n in composed.notifications
                if n.recipient_subject_id == people["respondent"]] if composed else []

    lettered = [e.event_id for e in await store.read_stream(case_stream("c-erased"))]
    before = {i: await to_respondent(i) for i in lettered}
    letter = next(i for i, notes in before.items() if any(n.address for n in notes))
    # When the respondent is erased, and the same relay composes that letter again
    await store.erase_subject(people["respondent"])
    after = await to_respondent(letter)
    # Then it names and addresses nobody: the relay holds no decrypted case between letters
    assert after and all(n.address is None and n.recipient_name is None for n in after)
