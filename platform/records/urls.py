from django.urls import path

from records import views

app_name = "records"
urlpatterns = [
    path("record/", views.my_record, name="mine"),
    path("r/<str:token>/", views.public_record, name="public"),
]
