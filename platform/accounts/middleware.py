"""Show every time in the signed-in learner's own time zone."""

from django.utils import timezone

from accounts.models import Profile


class TimezoneMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            profile = Profile.objects.filter(user=user).first()
            timezone.activate(profile.zone() if profile else timezone.get_default_timezone())
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
