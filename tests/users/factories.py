import factory
from allauth.account.models import EmailAddress
from django.utils import timezone

from users.models import CrmUser, Organization, User

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

    name = factory.Sequence(lambda n: f"Org {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")
    verified_at = factory.LazyFunction(timezone.now)


class CrmUserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CrmUser

    org = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    email = factory.LazyAttribute(lambda m: m.user.email if m.user else "invitee@example.com")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"User{n}")
    status = CrmUser.Status.ACTIVE
