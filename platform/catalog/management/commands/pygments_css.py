"""`manage.py pygments_css`: write the code-highlighting styles to static/css/pygments.css."""

from django.conf import settings
from django.core.management.base import BaseCommand

from catalog.rendering import pygments_css


class Command(BaseCommand):
    help = "Regenerate static/css/pygments.css (light and dark) from Pygments' styles."

    def handle(self, *args, **options):
        path = settings.BASE_DIR / "static" / "css" / "pygments.css"
        path.write_text(pygments_css())
        self.stdout.write(f"wrote {path.relative_to(settings.BASE_DIR)}")
