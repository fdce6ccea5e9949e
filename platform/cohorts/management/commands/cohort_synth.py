"""`manage.py cohort_synth --learners 500 --labs 12 --attempts 20`: a synthetic cohort."""

import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from cohorts.models import Membership
from cohorts.synthetic import cohort_synth


class Command(BaseCommand):
    help = "Fill the database with a realistic synthetic cohort, for demos and benchmarks."

    def add_arguments(self, parser):
        parser.add_argument("--learners", type=int, default=100)
        parser.add_argument("--labs", type=int, default=8)
        parser.add_argument("--attempts", type=int, default=20, help="most attempts per lab")
        parser.add_argument("--name", default=None)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--instructor", default=None, help="username to add as instructor")

    def handle(self, *args, learners, labs, attempts, name, seed, instructor, **options):
        started = time.monotonic()
        report = cohort_synth(learners=learners, labs=labs, attempts=attempts, name=name, seed=seed)
        if instructor:
            user = get_user_model().objects.get(username=instructor)
            report.cohort.add_member(user, Membership.Role.INSTRUCTOR)
        self.stdout.write(
            f"Created {report.cohort} (id {report.cohort.pk}): {report.learners} learners, "
            f"{report.labs} labs, {report.submissions} submissions, {report.tests} checks "
            f"in {time.monotonic() - started:.1f} s."
        )
