import factory
from allauth.account.models import EmailAddress
from django.utils import timezone
from django_scopes import scopes_disabled

from users.models import CrmUser, Organization, Profile, Role, User
from users.services.organizations import organization_defaults_create

PASSWORD = "correct-horse-battery-staple-42"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def verified(user, create, extracted, **kwargs):
        user.save()
        if create and extracted is not False:
            EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Org {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")
    verified_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def defaults(org, create, extracted, **kwargs):
        """Built-in profiles and the CEO → Manager roles, as every new org has."""
        if create:
            organization_defaults_create(org=org)


def builtin_profile(org, key):
    with scopes_disabled():
        return Profile.objects.get(org=org, builtin=key)


def role_named(org, name):
    with scopes_disabled():
        return Role.objects.get(org=org, name=name)


class CrmUserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CrmUser

    org = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    email = factory.LazyAttribute(lambda m: m.user.email if m.user else "invitee@example.com")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"User{n}")
    status = CrmUser.Status.ACTIVE
    profile = factory.LazyAttribute(
        lambda m: builtin_profile(
            m.org, Profile.ADMINISTRATOR if m.is_super_admin else Profile.STANDARD
        )
    )
    role = factory.LazyAttribute(
        lambda m: role_named(m.org, "CEO" if m.is_super_admin else "Manager")
    )
    is_super_admin = False
