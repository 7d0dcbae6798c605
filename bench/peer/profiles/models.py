from django.db import models


class SchoolProfile(models.Model):
    """The school's name and welcome text in the school's own schema, one row, as
    Schoolplein's `school_profile`; the home page reads it on every request."""

    name = models.CharField(max_length=200)
    welcome_text = models.TextField(blank=True)

    class Meta:
        db_table = "school_profile"


class Event(models.Model):
    """A calendar event; the home page lists the next public ones, as Schoolplein's does
    (the benchmark schools have none on either side, so both lists come back empty)."""

    title = models.CharField(max_length=200)
    place = models.CharField(max_length=200, blank=True)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    public = models.BooleanField(default=False)

    class Meta:
        db_table = "events"
        indexes = [models.Index(fields=["starts_at"], name="events_starts_at")]
