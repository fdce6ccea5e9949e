"""`manage.py labs sync` and `manage.py labs check [slug] [--runs N]`."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

import graders
from catalog.labcheck import lab_check
from catalog.labfiles import LabFormatError, discover_labs, load_lab
from catalog.sync import labs_sync


class Command(BaseCommand):
    help = "Load the labs folder into the database (sync) or prove labs grade right (check)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="{sync,check}")
        sub.add_parser("sync", help="load labs/ into the database; safe to run repeatedly")
        check = sub.add_parser(
            "check",
            help="run the reference, the starter and every variant through the real sandbox",
        )
        check.add_argument("slug", nargs="?", help="one lab (default: every lab)")
        check.add_argument("--runs", type=int, default=3, help="runs per submission (default 3)")

    def handle(self, *args, action, **options):
        if action == "sync":
            self._sync()
        else:
            self._check(options["slug"], options["runs"])

    def _sync(self):
        report = labs_sync(root=settings.LABS_DIR)
        for verb, slugs in (
            ("added", report.added),
            ("updated", report.updated),
            ("unchanged", report.unchanged),
            ("retired", report.retired),
        ):
            for slug in slugs:
                self.stdout.write(f"{verb:>9}  {slug}")
        for error in report.errors:
            self.stderr.write(f"  invalid  {error}")
        if report.errors:
            raise CommandError(
                f"{len(report.errors)} lab(s) could not be loaded; fix them and rerun"
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"labs: {len(report.added)} added, {len(report.updated)} updated, "
                f"{len(report.unchanged)} unchanged, {len(report.retired)} retired"
            )
        )

    def _check(self, slug, runs):
        if runs < 1:
            raise CommandError("--runs must be at least 1")
        paths = discover_labs(settings.LABS_DIR)
        if slug:
            paths = [p for p in paths if p.name == slug]
            if not paths:
                raise CommandError(f"no lab named {slug!r} under {settings.LABS_DIR}")
        failed = []
        for path in paths:
            try:
                spec = load_lab(path)
            except LabFormatError as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write(f"{spec.slug}: {runs} run(s) each")
            try:
                outcomes = lab_check(spec, runs=runs, progress=self.stdout.write)
            except graders.InfrastructureError as exc:
                raise CommandError(str(exc)) from None
            failed += [f"{spec.slug} {o.name}" for o in outcomes if not o.ok]
        if failed:
            raise CommandError("labs check failed: " + ", ".join(failed))
        self.stdout.write(self.style.SUCCESS(f"labs check passed ({len(paths)} lab(s))"))
