from django.shortcuts import render
from django.views.decorators.http import require_GET

from records.models import RecordEvent
from records.selectors import contacts_visible_to


@require_GET
def dashboard(request, org_slug):
    contacts = contacts_visible_to(membership=request.membership)
    return render(
        request,
        "users/dashboard.html",
        {
            "contact_count": contacts.count(),
            "pending_events": RecordEvent.objects.filter(processed_at__isnull=True).count(),
            "recent_contacts": contacts.order_by("-created_at")[:5],
        },
    )
