from django.urls import path

from profiles.views import home

urlpatterns = [
    path("", home),
]
