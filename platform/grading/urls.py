from django.urls import path

from grading import views

app_name = "grading"
urlpatterns = [
    path("new/<slug:slug>/", views.submission_create, name="submission_create"),
    path("<uuid:pk>/", views.submission_detail, name="submission_detail"),
    path("<uuid:pk>/files/<str:name>", views.submission_file, name="submission_file"),
    path("history/<slug:slug>/", views.history, name="history"),
]
