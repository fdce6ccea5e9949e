"""`manage.py demo_users`: create the demo logins and print them."""

from django.core.management.base import BaseCommand

from accounts.demo import demo_users_ensure


class Command(BaseCommand):
    help = "Create (or reset) the demo learner and staff accounts and print their logins."

    def handle(self, *args, **options):
        for username, password, is_staff in demo_users_ensure():
            role = "staff  " if is_staff else "learner"
            self.stdout.write(f"  {role}  {username} / {password}")
