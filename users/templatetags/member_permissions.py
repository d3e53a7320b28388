from django import template

register = template.Library()


@register.filter
def can(membership, permission: str) -> bool:
    """`{% if membership|can:"contacts.create" %}`: what the member's profile allows (USR-1)."""
    return membership is not None and membership.can(permission)
