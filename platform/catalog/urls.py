from django.urls import path

from catalog import views

app_name = "catalog"
urlpatterns = [
    path("", views.lab_list, name="lab_list"),
    path("labs/<slug:slug>/", views.lab_detail, name="lab_detail"),
    path("labs/<slug:slug>/starter.zip", views.lab_starter, name="lab_starter"),
]
