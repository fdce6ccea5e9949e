from django.urls import path

from catalog.views import lab_starter
from pages import labs

# The lab pages keep the catalog's URL names; they live here because they show grading
# and cohorts too.
app_name = "catalog"
urlpatterns = [
    path("", labs.lab_list, name="lab_list"),
    path("labs/<slug:slug>/", labs.lab_detail, name="lab_detail"),
    path("labs/<slug:slug>/starter.zip", lab_starter, name="lab_starter"),
    path("submissions/new/<slug:slug>/", labs.submission_create, name="submission_create"),
]
