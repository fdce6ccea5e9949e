from django.urls import path

from grading import staff_views

app_name = "staff"
urlpatterns = [
    path("import-gradescope/", staff_views.autograder_import_new, name="autograder_import_new"),
    path("import-gradescope/<uuid:pk>/", staff_views.autograder_import, name="autograder_import"),
]
