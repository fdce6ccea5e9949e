"""Slowing down guessing and flooding: log-in, sign-up and password-reset requests are
counted per address and, where a form names someone, per username or email.

Counts live in Django's cache (set CACHE_URL to a shared Redis so that every web process
sees the same counts; the default in-process cache counts per process). A count's window
starts with its first event, and the lock ends with that window.
"""

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.views import LoginView, PasswordResetView
from django.core.cache import cache
from django.template.response import TemplateResponse

MAX_FAILURES = 5  # per username
# Per address, higher: a classroom may share one address. A success does not reset it,
# so logging in to one's own account cannot wipe the count of guesses at others.
MAX_ADDRESS_FAILURES = 20
WINDOW_S = 15 * 60


@dataclass(frozen=True)
class Throttle:
    """One kind of counted request: `prefix` names its keys; `field` is the POST field
    counted on its own (None: only the address is counted)."""

    prefix: str
    field: str | None
    max_per_value: int = MAX_FAILURES
    max_per_address: int = MAX_ADDRESS_FAILURES
    window_s: int = WINDOW_S

    def _counts(self, request) -> list[tuple[str, int]]:
        """(cache key, limit) for each count this request adds to."""
        counts = [
            (
                f"{self.prefix}:addr:{request.META.get('REMOTE_ADDR', 'unknown')}",
                self.max_per_address,
            )
        ]
        if self.field is not None:
            value = (request.POST.get(self.field) or "").strip().lower()[:150]
            counts.insert(0, (f"{self.prefix}:{self.field}:{value}", self.max_per_value))
        return counts

    def locked(self, request) -> bool:
        return any(cache.get(key, 0) >= limit for key, limit in self._counts(request))

    def record(self, request) -> None:
        for key, _ in self._counts(request):
            cache.add(key, 0, self.window_s)
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.set(key, 1, self.window_s)

    def clear(self, request) -> None:
        """Forget the per-value count (never the address's)."""
        if self.field is not None:
            cache.delete(self._counts(request)[0][0])

    def wait_message(self) -> str:
        return f"Wait {self.window_s // 60} minutes and try again"


# Failed log-ins, per username and per address.
LOGIN = Throttle("login-fail", "username")
# Failed sign-ups (a taken name, a bad invite code: guessing codes is what this stops),
# per address only: there is no account yet whose password could be guessed.
SIGNUP = Throttle("signup-fail", None)
# Every password-reset request, since its outcome is never told: per email (a mailbox
# cannot be flooded) and per address.
PASSWORD_RESET = Throttle("reset", "email")


class ThrottledLoginView(LoginView):
    """Django's LoginView, refusing further tries after MAX_FAILURES in WINDOW_S."""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["signup_open"] = settings.SIGNUP != "closed"
        return context

    def post(self, request, *args, **kwargs):
        if LOGIN.locked(request):
            form = self.get_form()
            # Never check the password while locked. A per-instance override on purpose,
            # which the type checker reports as assigning to a method.
            form.is_valid = lambda: False  # type: ignore[method-assign]
            response = self.render_to_response(
                self.get_context_data(
                    form=form,
                    throttled=f"Too many failed log-ins. {LOGIN.wait_message()}, "
                    "or ask an instructor to reset your password.",
                )
            )
            response.status_code = 429
            return response
        response = super().post(request, *args, **kwargs)
        if response.status_code == 200:  # the form came back: wrong username or password
            LOGIN.record(request)
        else:
            LOGIN.clear(request)
        return response


class ThrottledPasswordResetView(PasswordResetView):
    """Django's PasswordResetView, sending at most MAX_FAILURES emails to one address per
    WINDOW_S and taking MAX_ADDRESS_FAILURES requests from one address. Whether the email
    belongs to anyone is never told: every request ends on the same "sent" page."""

    def post(self, request, *args, **kwargs):
        if PASSWORD_RESET.locked(request):
            return TemplateResponse(
                request,
                self.template_name,
                self.get_context_data(
                    form=self.get_form(),
                    throttled=f"Too many password-reset requests. {PASSWORD_RESET.wait_message()}.",
                ),
                status=429,
            )
        PASSWORD_RESET.record(request)
        return super().post(request, *args, **kwargs)
