"""STAND-IN (autoinvite-ui branch) for portals/autoinvite.py of the `autoinvite-engine`
branch: only the names the settings page calls, so it can be built before that branch is
merged. On merge, take the engine's file whole (`git checkout --theirs portals/autoinvite.py`)."""


def auto_invite_rules_changed(org) -> None:
    """The engine drops its cached rules of `org` here; the stand-in has no cache."""


def auto_invite_contacts(*, rule, contacts_queryset_or_ids, actor=None) -> dict:
    """The engine evaluates and invites the contacts; the stand-in cannot."""
    raise NotImplementedError("merge the autoinvite-engine branch")
