"""Routes: see portals/urls.py and crm_portal/urls.py."""

urlpatterns: list = []
