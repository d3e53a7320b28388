"""Everything under /o/<org_slug>/ that belongs to records; each area keeps its own
urlpatterns next to its views."""

from . import contact_views, field_views

urlpatterns = [
    *contact_views.urlpatterns,
    *field_views.urlpatterns,
]
