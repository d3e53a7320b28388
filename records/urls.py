"""Everything under /o/<org_slug>/ that belongs to records; each area keeps its own
urlpatterns next to its views."""

from . import api_token_views, contact_import_views, field_views, record_views

urlpatterns = [
    *record_views.urlpatterns,
    *contact_import_views.urlpatterns,
    *field_views.urlpatterns,
    *api_token_views.urlpatterns,
]
