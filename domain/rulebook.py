"""The organisation's rulebook: policy versions published by a policy administrator.

Cases are judged only under published versions. Each published version is one event on
the ``rulebook`` stream, naming who published it; the current rulebook is the fold of that
stream. A case pins, when its report is filed, the published versions in force on its
conduct dates and filing date (``file_under_published``): no caller supplies a rulebook.

Publishing is append-only in spirit: a published version never changes, except that an
open-ended version may be given an end date (so that a successor can follow it).
Republishing an identical version is a no-op, so publishing the same file twice is safe.

Pure: no I/O, clock or randomness (the workflow sandbox imports it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import ValidationError

from .base import Actor, CommandBase, EventBase, InvalidCommand, Model, NotPermitted
from .case.commands import FileReport
from .policy import PolicyDocument, PolicyError, PolicyVersion, publication_problems

RULEBOOK_STREAM = "rulebook"
POLICY_ADMIN_ROLE = "policy_admin"
CALLER_RULEBOOK_RULE = "published-rulebook-only"


class PublishPolicy(CommandBase):
    """Publish every version of a policy document that is not published yet."""

    type: Literal["PublishPolicy"] = "PublishPolicy"
    document: PolicyDocument


class PolicyVersionPublished(EventBase):
    type: Literal["PolicyVersionPublished"] = "PolicyVersionPublished"
    policy_id: str
    version: PolicyVersion
    supersedes: bool = False  # True when it gives an open-ended published version its end


class PublishedVersion(Model):
    version: PolicyVersion
    published_by: Actor
    published_at: datetime
    authority: str


class Rulebook(Model):
    """The fold of the rulebook stream: the published versions, by name."""

    policy_id: str | None = None
    versions: dict[str, PublishedVersion] = {}

    def document(self) -> PolicyDocument | None:
        """The published rulebook as one policy document (None before any publication)."""
        if self.policy_id is None or not self.versions:
            return None
        return PolicyDocument(policy_id=self.policy_id,
                              versions=[p.version for p in self.versions.values()])


def evolve_rulebook(book: Rulebook, event: PolicyVersionPublished) -> Rulebook:
    published = PublishedVersion(version=event.version, published_by=event.actor,
                                 published_at=event.effective_at, authority=event.authority)
    return Rulebook(policy_id=event.policy_id,
                    versions={**book.versions, event.version.version: published})


def rulebook_from_payloads(payloads: list[dict[str, object]]) -> Rulebook:
    book = Rulebook()
    for payload in payloads:
        book = evolve_rulebook(book, PolicyVersionPublished.model_validate(payload))
    return book


def decide_publish(book: Rulebook, cmd: PublishPolicy, now: datetime) -> list[
        PolicyVersionPublished]:
    """The versions to publish, or a DomainError naming the rule and the field at fault."""
    if cmd.actor.role != POLICY_ADMIN_ROLE:
        raise NotPermitted(f"only a {POLICY_ADMIN_ROLE} may publish the rulebook",
                           rule="rulebook-published-by-policy-admin", field="actor.role")
    doc = cmd.document
    if book.policy_id is not None and doc.policy_id != book.policy_id:
        raise InvalidCommand(
            f"the published rulebook is {book.policy_id!r}, not {doc.policy_id!r}",
            rule="one-organisation-rulebook", field="policy_id")
    for index, version in enumerate(doc.versions):
        for path, message in publication_problems(version, f"versions.{index}"):
            raise InvalidCommand(message, rule="publication-floors", field=path)
    events: list[PolicyVersionPublished] = []
    for index, version in enumerate(doc.versions):
        known = book.versions.get(version.version)
        if known is not None and known.version == version:
            continue
        ends_open = (known is not None and known.version.effective_to is None
                     and known.version.model_copy(update={"effective_to": None})
                     == version.model_copy(update={"effective_to": None}))
        if known is not None and not ends_open:
            raise InvalidCommand(
                f"version {version.version!r} is already published with other content; "
                "published versions never change (publish a new version instead)",
                rule="published-versions-are-immutable", field=f"versions.{index}")
        events.append(PolicyVersionPublished(
            actor=cmd.actor, authority=cmd.authority, effective_at=cmd.effective_at or now,
            policy_id=doc.policy_id, version=version, supersedes=ends_open))
    _check_whole(book, events)
    return events


def _check_whole(book: Rulebook, events: list[PolicyVersionPublished]) -> None:
    """The rulebook after publication must still be one valid document (no overlaps)."""
    after = book
    for event in events:
        after = evolve_rulebook(after, event)
    try:
        after.document()
    except ValidationError as exc:
        problem = PolicyError([(".".join(str(p) for p in e["loc"]) or "versions",
                                str(e["msg"]).removeprefix("Value error, "))
                               for e in exc.errors()])
        raise InvalidCommand(f"the rulebook would not be valid: {problem}",
                             rule="published-versions-do-not-overlap",
                             field="versions") from None


def refuse_caller_rulebook(cmd: FileReport) -> None:
    """A report is judged under the published rulebook only; one that brings its own
    is refused (whoever files a report must not choose the rules it is judged by)."""
    if cmd.policy is not None:
        raise InvalidCommand(
            "a report must not carry a rulebook: cases are judged under the organisation's "
            "published rulebook (`dueprocess policy publish`); remove the field",
            rule=CALLER_RULEBOOK_RULE, field="policy")


def file_under_published(cmd: FileReport, rulebook: PolicyDocument) -> FileReport:
    """The report as the decider judges it: under the published rulebook, which it pins."""
    refuse_caller_rulebook(cmd)
    return cmd.model_copy(update={"policy": rulebook})
