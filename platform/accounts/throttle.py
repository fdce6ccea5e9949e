"""Slowing down password guessing: failed log-ins are counted per username and per address.

Counts live in Django's cache (set CACHE_URL to a shared Redis so that every web process
sees the same counts; the default in-process cache counts per process).
"""

from django.contrib.auth.views import LoginView
from django.core.cache import cache

MAX_FAILURES = 5  # per username
# Per address, higher: a classroom may share one address. A success does not reset it,
# so logging in to one's own account cannot wipe the count of guesses at others.
MAX_ADDRESS_FAILURES = 20
WINDOW_S = 15 * 60


def _keys(request) -> list[str]:
    username = (request.POST.get("username") or "").strip().lower()[:150]
    address = request.META.get("REMOTE_ADDR", "unknown")
    return [f"login-fail:user:{username}", f"login-fail:addr:{address}"]


def locked(request) -> bool:
    user_key, address_key = _keys(request)
    return (
        cache.get(user_key, 0) >= MAX_FAILURES or cache.get(address_key, 0) >= MAX_ADDRESS_FAILURES
    )


def record_failure(request) -> None:
    for key in _keys(request):
        cache.add(key, 0, WINDOW_S)
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, WINDOW_S)


def clear(request) -> None:
    cache.delete_many(_keys(request)[:1])


class ThrottledLoginView(LoginView):
    """Django's LoginView, refusing further tries after MAX_FAILURES in WINDOW_S."""

    def post(self, request, *args, **kwargs):
        if locked(request):
            form = self.get_form()
            # Never check the password while locked. A per-instance override on purpose,
            # which the type checker reports as assigning to a method.
            form.is_valid = lambda: False  # type: ignore[method-assign]
            response = self.render_to_response(
                self.get_context_data(
                    form=form,
                    throttled=f"Too many failed log-ins. Wait {WINDOW_S // 60} minutes "
                    "and try again, or ask an instructor to reset your password.",
                )
            )
            response.status_code = 429
            return response
        response = super().post(request, *args, **kwargs)
        if response.status_code == 200:  # the form came back: wrong username or password
            record_failure(request)
        else:
            clear(request)
        return response
