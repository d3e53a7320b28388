"""Everything under /o/<org_slug>/ that belongs to the users app; each area keeps its own
urlpatterns next to its views."""

from .views import access, audit, dashboard, details, imports, members, organization

urlpatterns = [
    *dashboard.urlpatterns,
    *members.urlpatterns,
    *imports.urlpatterns,
    *access.urlpatterns,
    *audit.urlpatterns,
    *details.urlpatterns,
    *organization.urlpatterns,
]
