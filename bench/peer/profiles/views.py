from django.shortcuts import render
from django.utils import timezone

from profiles.models import Event, SchoolProfile

# As many as Schoolplein's home page shows.
PUBLIC_EVENTS = 10


def home(request):
    """A visitor's `/`: the school's name and welcome text and its next public events, read
    from the school's schema (django-tenants' middleware has set `search_path` to it) on
    every request, rendered by a template."""
    name, welcome_text = SchoolProfile.objects.values_list("name", "welcome_text").get()
    events = list(
        Event.objects.filter(public=True, ends_at__gte=timezone.now())
        .order_by("starts_at")
        .values("id", "title", "place", "starts_at")[:PUBLIC_EVENTS]
    )
    return render(
        request,
        "home.html",
        {"school_name": name, "welcome_text": welcome_text, "public_events": events},
    )
