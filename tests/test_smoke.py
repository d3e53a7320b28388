from django.urls import reverse


def test_landing_page_offers_signup(client, db):
    response = client.get("/")
    assert response.status_code == 200
    assert reverse("account_signup") in response.content.decode()


def test_org1_member_lands_on_own_dashboard(client_admin_a, org_a):
    response = client_admin_a.get("/", follow=True)
    assert response.redirect_chain[-1][0] == f"/o/{org_a.slug}/"
    assert "Alpha Corp" in response.content.decode()
