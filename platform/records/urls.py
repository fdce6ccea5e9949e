from django.urls import path

from records import views

app_name = "records"
urlpatterns = [
    path("record/", views.my_record, name="mine"),
    path("r/<str:token>/", views.public_record, name="public"),
    path("record/credentials/<slug:slug>/", views.credential_download, name="credential_download"),
    path("verify/", views.credential_verify, name="verify"),
    path("verify/<uuid:pk>/revoke/", views.credential_revoke, name="credential_revoke"),
    path(".well-known/openbadges-issuer.json", views.issuer_profile, name="issuer_profile"),
    path(".well-known/jwks.json", views.issuer_keys, name="issuer_keys"),
]
