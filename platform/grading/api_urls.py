from django.urls import path

from grading import api

app_name = "api"
urlpatterns = [
    path("openapi.json", api.openapi, name="openapi"),
    path("labs/", api.lab_list, name="lab_list"),
    path("labs/<slug:slug>/", api.lab_detail, name="lab_detail"),
    path("labs/<slug:slug>/starter.zip", api.lab_starter, name="lab_starter"),
    path("labs/<slug:slug>/submissions/", api.submission_create, name="submission_create"),
    path("submissions/<uuid:pk>/", api.submission_detail, name="submission_detail"),
]
