"""URL routes."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from pages.signup import signup

from accounts.throttle import ThrottledLoginView, ThrottledPasswordResetView
from downstack import ops

urlpatterns = [
    # For the operator's probes and Prometheus; exempt from the HTTPS redirect (settings).
    path("healthz", ops.healthz, name="healthz"),
    path("readyz", ops.readyz, name="readyz"),
    path("metrics", ops.metrics, name="metrics"),
    path("login/", ThrottledLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("signup/", signup, name="signup"),
    # Django's password reset, under the names its views link to one another by.
    path("password-reset/", ThrottledPasswordResetView.as_view(), name="password_reset"),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("admin/", admin.site.urls),
    path("account/", include("accounts.urls")),
    path("api/v1/", include("grading.api_urls")),
    path("submissions/", include("grading.urls")),
    path("cohorts/", include("cohorts.urls")),
    path("staff/", include("grading.staff_urls")),
    path("", include("records.urls")),
    path("", include("pages.urls")),
]
