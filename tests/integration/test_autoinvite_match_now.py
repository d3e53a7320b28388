"""AUT-6 with a real worker: "Invite existing contacts that match now" shows the count and a
sample first, then a worker process invites them in batches while the page's progress bar
advances; contacts already users of the portal are skipped and counted, nobody twice."""

import pytest
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from portals.autoinvite_match import BATCH_SIZE, match_progress
from portals.models import AutoInviteRule, PortalUser
from tests.conftest import client_for
from tests.portals.factories import PortalFactory, PortalUserFactory, UserGroupFactory
from tests.records.factories import ContactFactory
from tests.workers import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

PAID = {"conditions": [{"field": "subscription", "op": "is", "value": "paid"}], "pattern": ""}
JAPAN = {"conditions": [{"field": "country", "op": "is", "value": "JP"}], "pattern": ""}
MATCHING = BATCH_SIZE + 30  # two batches


def test_aut6_match_now_counts_then_invites_in_a_worker(org_a, admin_a, start_celery):
    with scopes_disabled():
        org_a.verified_at = timezone.now()
        org_a.save(update_fields=["verified_at"])
        portal = PortalFactory(org=org_a, languages=["en", "ja"])
        group = UserGroupFactory(portal=portal)
        AutoInviteRule.objects.create(
            org=org_a,
            portal=portal,
            group=group,
            language_mode="multiple",
            common_conditions=PAID,
            languages=[
                {"language": "ja", "conditions": JAPAN},
                {"language": "en", "conditions": {"conditions": [], "pattern": ""}},
            ],
        )
        for i in range(MATCHING):
            ContactFactory(org=org_a, subscription="paid", country="JP" if i % 2 else "FR")
        for _i in range(5):
            ContactFactory(org=org_a, subscription="free")
        already = [
            PortalUserFactory(
                group=group, contact=ContactFactory(org=org_a, subscription="paid", country="JP")
            )
            for _i in range(3)
        ]
    client = client_for(admin_a)
    url = reverse("autoinvite_match", args=[org_a.slug, portal.pk])

    preview = client.get(url).content.decode()
    assert f"{MATCHING} contacts match" in preview  # the three portal users are not counted
    sample = preview.split('id="match-sample"')[1].split("</ul>")[0]
    assert sample.count("<li>") == 20  # a sample of twenty

    start_celery("worker")
    assert client.post(url).status_code == 302

    def done():
        progress = match_progress(portal)
        return progress and progress["state"] == "done"

    assert wait_for(done, timeout=120)
    progress = match_progress(portal)
    assert progress["invited"] == MATCHING and progress["already"] == len(already)
    assert progress["done"] == progress["total"] == MATCHING + len(already)
    status = client.get(reverse("autoinvite_match_status", args=[org_a.slug, portal.pk]))
    assert 'data-state="done"' in status.content.decode()
    assert "hx-trigger" not in status.content.decode()  # the polling stops when done
    with scopes_disabled():
        users = PortalUser.objects.filter(portal=portal)
        assert users.count() == MATCHING + len(already)
        assert users.values("contact").distinct().count() == users.count()
        new = users.exclude(pk__in=[u.pk for u in already])
        for country, language in (("JP", "ja"), ("FR", "en")):  # first match in the order
            chosen = new.filter(contact__country=country).values_list("language", flat=True)
            assert set(chosen) == {language}
    again = client.get(url).content.decode()
    assert "0 contacts match" in again
