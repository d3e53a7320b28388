import factory

from records.models import Contact
from tests.users.factories import OrganizationFactory


class ContactFactory(factory.django.DjangoModelFactory):
    """A contact row without an event: for pages, not for the outbox (use the service)."""

    class Meta:
        model = Contact

    org = factory.SubFactory(OrganizationFactory)
    first_name = "Jane"
    last_name = factory.Sequence(lambda n: f"Doe{n}")
    email = factory.Sequence(lambda n: f"contact{n}@example.org")
    language = "en"
    country = "FR"
