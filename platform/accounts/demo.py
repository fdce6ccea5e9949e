"""Demo accounts for a fresh install: two learners and one staff member."""

from django.contrib.auth import get_user_model

DEMO_USERS = (
    # username, password, is_staff
    ("ada", "ada-learns-systems", False),
    ("linus", "linus-learns-systems", False),
    ("grace", "grace-teaches-systems", True),
)


def demo_users_ensure() -> list[tuple[str, str, bool]]:
    """Create the demo accounts or reset their passwords. Safe to run twice."""
    User = get_user_model()
    for username, password, is_staff in DEMO_USERS:
        user, _ = User.objects.get_or_create(username=username)
        user.is_staff = is_staff
        user.is_superuser = is_staff
        user.set_password(password)
        user.save()
    return list(DEMO_USERS)
