"""A learner's skills record: the skills their passed labs show, with the evidence, which
they may publish at an unguessable link, choosing the labs it shows and the name it
gives."""

import secrets

from django.conf import settings
from django.db import models
from django.urls import reverse

# 32 bytes of randomness in the link: unguessable, and not derived from anything.
TOKEN_BYTES = 32


class SkillsRecord(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="skills_record"
    )
    # The name the published record (and a credential) gives; never the account name
    # unless the learner types it.
    display_name = models.CharField(max_length=80, blank=True)
    # The labs the published record shows; passed labs only are ever shown.
    shown_labs = models.ManyToManyField("catalog.Lab", blank=True, related_name="+")
    # Set while published; revoking clears it, and publishing again makes a new one.
    token = models.CharField(max_length=64, unique=True, null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"skills record of {self.user_id}"

    @property
    def is_published(self) -> bool:
        return self.token is not None

    def public_url(self) -> str | None:
        return reverse("records:public", args=[self.token]) if self.token else None

    @staticmethod
    def new_token() -> str:
        return secrets.token_urlsafe(TOKEN_BYTES)


class SigningKey(models.Model):
    """An Ed25519 key the site signs credentials with. The newest unretired one signs;
    retired ones stay published (/.well-known/jwks.json), so what they signed still
    verifies after a rotation (`manage.py credentials rotate-key`)."""

    kid = models.CharField(max_length=64, unique=True)
    private_pem = models.TextField()
    public_jwk = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.kid


class Credential(models.Model):
    """An Open Badges 3.0 credential the site issued a learner for completing a track, as
    the signed JWT they download; staff may revoke it (misconduct, a mistake)."""

    id = models.UUIDField(primary_key=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="credentials"
    )
    track = models.ForeignKey("catalog.Track", on_delete=models.PROTECT, related_name="+")
    subject_name = models.CharField(max_length=80)
    issued_at = models.DateTimeField()
    kid = models.CharField(max_length=64)
    token = models.TextField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-issued_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "track"], name="one_credential_per_track"),
        ]

    def __str__(self) -> str:
        return f"credential {self.id} ({self.track_id}) for {self.user_id}"
