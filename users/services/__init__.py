"""Writes of the users app, one module per topic (zulip's zerver/actions/): organizations,
members, access (profiles, roles, territories) and licences. Reads are in users.selectors, the
audit log in users.audit, permission checks in users.permissions."""
