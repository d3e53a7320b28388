from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET

from records.models import Contact, RecordEvent


@require_GET
def dashboard(request, org_slug):
    return render(
        request,
        "users/dashboard.html",
        {
            "contact_count": Contact.objects.count(),
            "pending_events": RecordEvent.objects.filter(processed_at__isnull=True).count(),
            "recent_contacts": Contact.objects.order_by("-created_at")[:5],
        },
    )


urlpatterns = [
    path("", dashboard, name="dashboard"),
]
