"""Everything under /o/<org_slug>/ that belongs to records; each area keeps its own
urlpatterns next to its views."""

from . import contact_import_views
from .views import api_tokens, fields, records

urlpatterns = [
    *records.urlpatterns,
    *contact_import_views.urlpatterns,
    *fields.urlpatterns,
    *api_tokens.urlpatterns,
]
