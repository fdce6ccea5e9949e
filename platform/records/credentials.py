"""Credentials an employer can verify: Open Badges 3.0 OpenBadgeCredentials in their
VC-JWT form (OB 3.0 §8.2: the JWT's payload is the credential itself, `iss`, `nbf`,
`jti` and `sub` its registered claims), signed with an Ed25519 key the site keeps.

The issuer's profile is at /.well-known/openbadges-issuer.json and its public keys, the
retired ones too, at /.well-known/jwks.json; the header's `kid` names the key. Any JWT
library verifies a credential with them (tests/records/test_credentials.py does, with
PyJWT alone); the verification page also says whether staff have revoked it.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from catalog.models import Track
from records.models import Credential, SigningKey

ALGORITHM = "EdDSA"
CONTEXTS = [
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
]
ISSUER_NAME = "Downstack"
JWKS_PATH = "/.well-known/jwks.json"
PROFILE_PATH = "/.well-known/openbadges-issuer.json"


class NotEarned(Exception):
    """The learner has not completed the track, or gave no name for the credential."""


def signing_key() -> SigningKey:
    """The key that signs now, made on first use."""
    with transaction.atomic():
        key = SigningKey.objects.select_for_update().filter(retired_at__isnull=True).first()
        return key or _new_key()


def rotate_key() -> SigningKey:
    """Retire the signing key and make a new one; credentials signed before still verify."""
    with transaction.atomic():
        SigningKey.objects.filter(retired_at__isnull=True).update(retired_at=timezone.now())
        return _new_key()


def _new_key() -> SigningKey:
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    kid = f"key-{timezone.now():%Y%m%d}-{uuid.uuid4().hex[:8]}"
    public = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(private.public_key()))
    public.update(kid=kid, alg=ALGORITHM, use="sig")
    return SigningKey.objects.create(kid=kid, private_pem=pem, public_jwk=public)


def jwks() -> dict:
    """Every key the site has signed with, current and retired, as a JSON Web Key Set."""
    return {"keys": [key.public_jwk for key in SigningKey.objects.order_by("created_at")]}


def issuer_id(base_url: str) -> str:
    return base_url.rstrip("/") + PROFILE_PATH


def issuer_profile(base_url: str) -> dict:
    """The issuer's Open Badges 3.0 Profile, naming where its keys are."""
    return {
        "@context": CONTEXTS,
        "id": issuer_id(base_url),
        "type": ["Profile"],
        "name": ISSUER_NAME,
        "url": base_url.rstrip("/") + "/",
        "description": "Downstack issues these credentials to learners who passed every "
        "lab of a track, each graded by hidden tests in a locked-down sandbox.",
        "jwks_uri": base_url.rstrip("/") + JWKS_PATH,
    }


def credential_issue(*, user, track: Track, subject_name: str, passed: set[str], base_url: str):
    """The learner's credential for the track, issued now if it was not before. Raises
    NotEarned unless every lab of the track is in ``passed`` and a name is given."""
    labs = [step.lab for step in track.steps.select_related("lab")]
    missing = [lab.title for lab in labs if lab.slug not in passed]
    if missing:
        raise NotEarned(f"Pass every lab of “{track.title}” first: {', '.join(missing)}.")
    if not subject_name.strip():
        raise NotEarned("Give your record a name first: the credential says whose it is.")
    existing = Credential.objects.filter(user=user, track=track).first()
    if existing is not None:
        return existing
    key = signing_key()
    credential_id = uuid.uuid4()
    issued = timezone.now().replace(microsecond=0)
    payload = _credential(credential_id, user, track, labs, subject_name, issued, base_url)
    private = serialization.load_pem_private_key(key.private_pem.encode(), password=None)
    if not isinstance(private, Ed25519PrivateKey):
        raise TypeError(f"signing key {key.kid} is not an Ed25519 key")
    token = jwt.encode(
        payload,
        private,
        algorithm=ALGORITHM,
        headers={"kid": key.kid, "typ": "JWT", "jwk": key.public_jwk},
    )
    return Credential.objects.create(
        id=credential_id,
        user=user,
        track=track,
        subject_name=subject_name,
        issued_at=issued,
        kid=key.kid,
        token=token,
    )


def _credential(credential_id, user, track, labs, name, issued: datetime, base_url: str) -> dict:
    urn = f"urn:uuid:{credential_id}"
    subject = f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{base_url}/learners/{user.pk}')}"
    titles = "; ".join(lab.title for lab in labs)
    return {
        "@context": CONTEXTS,
        "id": urn,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": f"{track.title} (Downstack track)",
        "issuer": {"id": issuer_id(base_url), "type": ["Profile"], "name": ISSUER_NAME},
        "validFrom": issued.isoformat().replace("+00:00", "Z"),
        "credentialSubject": {
            "id": subject,
            "type": ["AchievementSubject"],
            "name": name,
            "achievement": {
                "id": base_url.rstrip("/") + reverse("catalog:lab_list") + f"#track-{track.slug}",
                "type": ["Achievement"],
                "name": track.title,
                "description": track.summary,
                "criteria": {
                    "narrative": f"Passed, with full marks from hidden tests run in a "
                    f"sandbox, every lab of the track: {titles}."
                },
            },
        },
        # The JWT's registered claims (OB 3.0 §8.2.4.1): they mirror the credential.
        "iss": issuer_id(base_url),
        "jti": urn,
        "sub": subject,
        "nbf": int(issued.timestamp()),
    }


@dataclass(frozen=True)
class Verdict:
    genuine: bool
    revoked: bool
    problem: str  # why it is not genuine, for the reader
    credential: Credential | None
    claims: dict

    @property
    def valid(self) -> bool:
        return self.genuine and not self.revoked


def verify(token: str) -> Verdict:
    """Whether ``token`` is a credential this site signed, unchanged, and not revoked."""
    token = "".join(token.split())
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError as exc:
        return _refused(f"This is not a signed credential ({exc}).")
    key = SigningKey.objects.filter(kid=str(header.get("kid", ""))).first()
    if key is None or header.get("alg") != ALGORITHM:
        return _refused("It is not signed by one of this site's keys.")
    try:
        claims = jwt.decode(
            token,
            jwt.PyJWK(key.public_jwk).key,
            algorithms=[ALGORITHM],
            options={"require": ["iss", "jti", "nbf", "sub"], "verify_aud": False},
        )
    except jwt.InvalidTokenError as exc:
        return _refused(f"Its signature does not match its content: it was changed ({exc}).")
    jti = str(claims.get("jti", ""))
    credential = (
        Credential.objects.select_related("track")
        .filter(pk=_uuid(jti.removeprefix("urn:uuid:")))
        .first()
    )
    if credential is None or credential.token != token:
        return _refused("This site has no record of issuing it.")
    return Verdict(True, credential.revoked_at is not None, "", credential, claims)


def _refused(problem: str) -> Verdict:
    return Verdict(False, False, problem, None, {})


def _uuid(text: str):
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def revoke(credential: Credential, *, reason: str) -> None:
    Credential.objects.filter(pk=credential.pk).update(
        revoked_at=timezone.now(), revoked_reason=reason[:300]
    )
