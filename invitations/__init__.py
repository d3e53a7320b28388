"""Invitations (DESIGN: Invitations): one core for every membership kind.

The core never branches on the kind: tokens, send, lookup, accept and revoke (services.py),
delivery through a worker (delivery.py) and the link's pages (views.py). What differs per kind
is one adapter, an InvitationKind subclass (kinds.py) listed once in the INVITATION_KINDS
setting. The adapter says which membership an invitation targets (and how to find a
membership's invitation), the address and language, the email's templates and context, the
preconditions and the page with the way out (ORG-4), what accepting does, and where the person
lands. CRM users are the first kind (crm_users.py). Because users sits below this app,
crm_users.py also holds the services that touch a CRM user and their invitation together.

Adding a kind (a portal user, a Campaigns member) leaves this app untouched:
1. The membership model in the higher app gets a nullable OneToOneField to
   invitations.Invitation (plus its migration).
2. The adapter goes beside that app's services, e.g. `portals/invitation_kind.py`:
   `class PortalUserInvitations(InvitationKind)`, with `kind = "portal_user"`, its email
   templates and its accept page.
3. Add it to INVITATION_KINDS.
The app's services call invitation_for / invitation_send / invitation_of / invitation_revoke
with kind="portal_user". Where a service writes a membership and its invitation, it locks the
membership first (membership_lock) and then the invitation.
"""
