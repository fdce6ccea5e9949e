"""`manage.py credentials keys | rotate-key`: the keys the site signs credentials with."""

from django.core.management.base import BaseCommand

from records import credentials
from records.models import Credential, SigningKey


class Command(BaseCommand):
    help = (
        "List the keys credentials are signed with (keys), or retire the signing key and "
        "make a new one (rotate-key); retired keys stay published, so what they signed "
        "still verifies."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="{keys,rotate-key}")
        sub.add_parser("keys", help="list the signing keys and what each signed")
        sub.add_parser("rotate-key", help="retire the signing key; new credentials use a new one")

    def handle(self, *args, action, **options):
        if action == "rotate-key":
            key = credentials.rotate_key()
            self.stdout.write(self.style.SUCCESS(f"Signing with {key.kid} from now on."))
        for key in SigningKey.objects.order_by("created_at"):
            signed = Credential.objects.filter(kid=key.kid).count()
            state = f"retired {key.retired_at:%Y-%m-%d %H:%M}" if key.retired_at else "signing"
            self.stdout.write(f"  {key.kid}  {state}  signed {signed} credential(s)")
