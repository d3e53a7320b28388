"""The invitation kinds (DESIGN: Invitations): one adapter per membership kind, listed in ONE
place, the INVITATION_KINDS setting (kind → dotted path of its InvitationKind subclass). The
core asks the adapter of `invitation.kind` whatever differs between kinds; it never branches on
the kind itself. An entry that does not resolve fails at startup (InvitationsConfig.ready), and
a kind that is not listed fails when it is looked up."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from django.apps import apps
from django.conf import settings
from django.core.exceptions import (
    FieldDoesNotExist,
    ImproperlyConfigured,
    ObjectDoesNotExist,
)
from django.db.models import Model, Q
from django.utils.module_loading import import_string

if TYPE_CHECKING:  # InvitationsConfig imports this module before the models are loaded
    from .models import Invitation


class InvitationKind:
    """What one membership kind says about its invitations. Subclass it once per kind.

    `kind` is the value stored in Invitation.kind and the key in INVITATION_KINDS;
    `membership_field` the name through which an Invitation reaches its membership (a field
    or a reverse one-to-one), whose `email` and `language` the defaults below read.
    `email_template` is the prefix of the invitation email's three templates
    (`<prefix>.subject.txt`, `.txt`, `.html`); `accept_template` the page that asks a
    signed-in, invited person to accept."""

    kind: str = ""
    membership_field: str = ""
    email_template: str = ""
    accept_template: str = ""
    # May the invited person ask for a new link from the invalid-link page once theirs has
    # expired (POR-9)? Off unless a kind says so; `resend_on_request_allowed` then decides.
    allows_self_service_resend: bool = False

    # Which membership the invitation targets.

    def invitation_filter(self, membership: Model) -> Q:
        """The membership's invitation, as a filter on Invitation."""
        return Q(**{self.membership_field: membership})

    def invitation_create(self, membership: Model, **fields) -> Invitation:
        """Save a new invitation with `fields`, tied to `membership`; if another request tied
        one first, return that one."""
        raise NotImplementedError

    def membership_of(self, invitation: Invitation) -> Model | None:
        try:
            return getattr(invitation, self.membership_field)
        except ObjectDoesNotExist:  # a reverse one-to-one with no row
            return None

    def invitations_link(self, pairs: list[tuple[Model, Invitation]]) -> None:
        """Tie each new invitation to its membership, which the caller holds locked and has
        no invitation yet (invitations_send_new), in one statement. Only a kind whose
        invitations go out in batches (the portal kind's auto-invitations) needs it."""
        raise NotImplementedError

    def rendering(self):
        """A context manager around rendering a batch of this kind's emails (e.g. to read
        each template once per batch); nothing by default."""
        return contextlib.nullcontext()

    def email_of(self, membership: Model) -> str:
        """The address every send goes to (read again at each send)."""
        return membership.email

    def language_of(self, membership: Model) -> str:
        """The language of the invitation and its email, chosen when it is created."""
        return membership.language

    # Its email.

    def email_context(self, invitation: Invitation) -> dict:
        """What the kind's templates need beyond the core's org_name, inviter_name, link,
        expires_at and validity_days."""
        return {}

    def render_email(self, invitation: Invitation, context: dict) -> tuple[str, str, str] | None:
        """The invitation email as (subject, plain text, HTML), or None (the default) to let
        the core render the kind's built-in templates (`email_template`).

        `context` is what the core would hand the built-in templates: org_name, inviter_name,
        link, expires_at, validity_days and this kind's `email_context(invitation)`. A kind
        whose admins edit their own templates returns them rendered here, e.g. the portal
        kind: `return portals.emails.render_for_invitation(portal, "accept_invitation",
        invitation.language, group, context)`. The core still sends to the invited address
        and strips CR/LF from the subject; it never passes admin text to a template engine.
        The returned tuple may carry `from_email` and `reply_to` attributes (a tuple subclass,
        as portals.emails.RenderedEmail): the core then sends with that sender and reply-to."""
        return None

    # The invited person asking for a new link (POR-9).

    def resend_on_request_allowed(self, invitation: Invitation) -> bool:
        """Whether the membership behind this expired invitation may still get a new link
        when the person asks (only read when `allows_self_service_resend`)."""
        return False

    def resent_on_request(self, invitation: Invitation, *, ip: str | None = None) -> None:
        """Record that a new link went out because the invited person asked for it."""

    # What the mail provider reported (AUT-9).

    def delivery_failed(self, invitation: Invitation, *, state: str, detail: str) -> None:
        """The current send bounced, was rejected or was marked as spam (`state`, one of
        Invitation.Delivery), with the provider's words; called once per send and state,
        inside the transaction that records it. Nothing by default."""

    # Declining it (CAM-4): only a kind that says so offers /invite/<token>/decline/.
    allows_decline: bool = False

    def decline(self, *, invitation: Invitation, membership: Model) -> None:
        """Record that the invited person declined. Called with the membership and the
        invitation locked, in that order, after the core checked the link; the core then
        revokes the invitation, so its link dies."""
        raise NotImplementedError

    # Accepting it.

    def obstacle(self, *, invitation: Invitation, user) -> tuple[str, dict] | None:
        """What stands between `user` (signed in with the invited, verified address) and
        accepting, as a page with the way out: (template, context). None when nothing does."""
        return None

    def accept(self, *, invitation: Invitation, membership: Model, user) -> None:
        """Refuse (ActionRefused) what the kind does not allow, else bind `membership` to
        `user` as of `invitation.accepted_at` and record it. Called with the membership and the
        invitation locked, in that order, after the core checked the link and the address; the
        core then marks the invitation accepted."""
        raise NotImplementedError

    def landing_url(self, invitation: Invitation) -> str:
        """Where the person lands after accepting."""
        raise NotImplementedError


def invitation_kind(kind: str) -> InvitationKind:
    """The adapter of `kind`; ImproperlyConfigured when INVITATION_KINDS does not list it, or
    lists something that is not an InvitationKind of that name."""
    try:
        path = settings.INVITATION_KINDS[kind]
    except KeyError:
        raise ImproperlyConfigured(
            f"Invitation kind {kind!r} is not in INVITATION_KINDS "
            f"(it lists: {', '.join(sorted(settings.INVITATION_KINDS)) or 'nothing'})."
        ) from None
    try:
        adapter = import_string(path)
    except ImportError as error:
        raise ImproperlyConfigured(
            f"INVITATION_KINDS[{kind!r}] = {path!r} does not import: {error}"
        ) from error
    if not (isinstance(adapter, type) and issubclass(adapter, InvitationKind)):
        raise ImproperlyConfigured(
            f"INVITATION_KINDS[{kind!r}] = {path!r} is not an InvitationKind subclass."
        )
    column = apps.get_model("invitations", "Invitation")._meta.get_field("kind")
    if len(kind) > column.max_length:
        raise ImproperlyConfigured(f"Invitation kind {kind!r} is longer than Invitation.kind.")
    if adapter.kind != kind:
        raise ImproperlyConfigured(
            f"INVITATION_KINDS[{kind!r}] = {path!r} says its kind is {adapter.kind!r}."
        )
    if not (adapter.email_template and adapter.accept_template):
        raise ImproperlyConfigured(f"{path} names no email_template or accept_template.")
    try:
        apps.get_model("invitations", "Invitation")._meta.get_field(adapter.membership_field)
    except FieldDoesNotExist:
        raise ImproperlyConfigured(
            f"{path}.membership_field = {adapter.membership_field!r} is no relation of "
            "Invitation to its membership."
        ) from None
    return adapter()


def invitation_kinds() -> dict[str, InvitationKind]:
    """Every registered kind's adapter, by kind."""
    return {kind: invitation_kind(kind) for kind in settings.INVITATION_KINDS}
