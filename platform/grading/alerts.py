"""The operator's mail when the platform keeps failing a job: once a job's infrastructure
failures reach GRADING_ALERT_AFTER_FAILURES, ADMINS get one mail naming the count and the
last error. Staff also see the alert on every page (grading.context_processors)."""

from __future__ import annotations

import logging
import smtplib

from django.conf import settings
from django.core.mail import mail_admins

log = logging.getLogger(__name__)


def infra_failure_noted(*, kind: str, pk, failures: int, error: str) -> bool:
    """Mail ADMINS if this failure, the job's `failures`-th, is the one that reaches the
    threshold; True if a mail was sent. Each failure is noted once (its count only goes
    up), so a job mails once however often it fails after that. A mail that cannot be
    sent is logged and never breaks grading."""
    if failures != settings.GRADING_ALERT_AFTER_FAILURES or not settings.ADMINS:
        return False
    subject = f"{kind} {pk} could not be graded {failures} times: {error}"
    body = (
        f"Grading infrastructure failed {failures} times for {kind} {pk}; it stays queued "
        f"and keeps retrying.\n\nLast error:\n{error}\n\n"
        "Check the workers' Docker engines (/readyz names a worker whose engine does not "
        "answer) and the workers' logs."
    )
    try:
        # The subject is one line: an error may span several.
        mail_admins(" ".join(subject.split())[:200], body)
    except (smtplib.SMTPException, OSError) as exc:
        log.error("%s %s: the alert mail to ADMINS was not sent: %s", kind, pk, exc)
        return False
    log.warning("%s %s: %s infrastructure failures, ADMINS alerted", kind, pk, failures)
    return True
