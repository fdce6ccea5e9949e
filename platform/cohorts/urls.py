from django.urls import path

from cohorts import views

app_name = "cohorts"
urlpatterns = [
    path("", views.cohort_list, name="list"),
    path("new/", views.cohort_new, name="new"),
    path("join/", views.cohort_join, name="join"),
    path("join/<str:code>/", views.cohort_join, name="join_code"),
    path("<int:pk>/", views.dashboard, name="dashboard"),
    path("<int:pk>/me/", views.my_progress, name="my_progress"),
    path("<int:pk>/people/", views.roster, name="roster"),
    path("<int:pk>/assignments/", views.assignments, name="assignments"),
    path("<int:pk>/settings/", views.cohort_settings, name="settings"),
    path("<int:pk>/learners/<int:user_id>/", views.learner_detail, name="learner"),
    path("<int:pk>/gradebook.csv", views.gradebook_csv, name="gradebook_csv"),
    path("<int:pk>/tracks/", views.cohort_tracks, name="tracks"),
    path("<int:pk>/credentials.csv", views.credentials_csv, name="credentials_csv"),
    path("<int:pk>/results.json", views.results_json, name="results_json"),
    path("<int:pk>/regrades/new/", views.regrade_create, name="regrade_create"),
    path("<int:pk>/regrades/<uuid:regrade_id>/", views.regrade_detail, name="regrade_detail"),
    path("<int:pk>/regrades/<uuid:regrade_id>/apply/", views.regrade_apply, name="regrade_apply"),
    path(
        "<int:pk>/regrades/<uuid:regrade_id>/discard/",
        views.regrade_discard,
        name="regrade_discard",
    ),
]
