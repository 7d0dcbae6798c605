from django.db import models
from django_tenants.models import DomainMixin, TenantMixin


class School(TenantMixin):
    """A school: its schema (`b1`, `b2`, …), name and welcome text (public schema)."""

    name = models.CharField(max_length=200)
    welcome_text = models.TextField(blank=True)

    # Creating a school creates and migrates its schema (django-tenants' default).
    auto_create_schema = True


class Domain(DomainMixin):
    """The host a school is reached at (`b1.schoolplein.test`)."""
