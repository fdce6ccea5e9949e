from django.urls import path

from grading import views

app_name = "grading"
urlpatterns = [
    path("<uuid:pk>/", views.submission_detail, name="submission_detail"),
    path("<uuid:pk>/files/<str:name>", views.submission_file, name="submission_file"),
    path("history/<slug:slug>/", views.history, name="history"),
    path("leaderboard/<slug:slug>/", views.lab_leaderboard, name="leaderboard"),
]
