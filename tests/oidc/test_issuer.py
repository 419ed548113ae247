"""The offline OIDC issuers as a relying party sees them: discovery and JWKS over HTTPS through
the gateway, tokens that an independent verifier (PyJWT) accepts, and the strict verifier the
clouds use refusing every forged or odd token."""

from __future__ import annotations

import base64
import json
import os
import stat
import time
from pathlib import Path

import jwt as pyjwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from guardlib import emulators
from guardlib.emulators.kit import jwt
from guardlib.emulators.oidc import GITHUB_ISSUER, SubjectError
from guardlib.emulators.seed import COURSE, SeedError, SeedSpec

MAIN = "repo:codehive/wallet:ref:refs/heads/main"
AUD = "sts.amazonaws.com"


def _session(cloud: emulators.OfflineCloud) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.proxies = {"https": cloud.gateway.url}
    session.verify = str(cloud.ca.cert_path)
    return session


def test_discovery_and_jwks_are_served_at_the_real_issuer_urls(bare_cloud) -> None:
    token = bare_cloud.oidc.mint(MAIN, AUD)
    session = _session(bare_cloud)
    doc = session.get(f"{GITHUB_ISSUER}/.well-known/openid-configuration", timeout=10).json()
    assert doc["issuer"] == GITHUB_ISSUER
    assert doc["jwks_uri"] == f"{GITHUB_ISSUER}/.well-known/jwks"
    jwks = session.get(doc["jwks_uri"], timeout=10).json()
    key = pyjwt.PyJWKSet.from_dict(jwks)[pyjwt.get_unverified_header(token)["kid"]]
    claims = pyjwt.decode(token, key.key, algorithms=["RS256"], audience=AUD, issuer=GITHUB_ISSUER)
    assert claims["sub"] == MAIN and claims["repository"] == "codehive/wallet"
    assert claims["ref"] == "refs/heads/main" and claims["event_name"] == "push"
    assert claims["exp"] - claims["iat"] == 3600


def test_kubernetes_issuer_serves_its_own_keys(bare_cloud) -> None:
    k8s = bare_cloud.oidc.kubernetes
    token = bare_cloud.oidc.mint("system:serviceaccount:wallet:api", "sts.amazonaws.com",
                                 issuer="kubernetes")  # fmt: skip
    session = _session(bare_cloud)
    doc = session.get(f"{k8s.url}/.well-known/openid-configuration", timeout=10).json()
    assert doc["issuer"] == k8s.url and doc["jwks_uri"].endswith("/keys")
    keys = pyjwt.PyJWKSet.from_dict(session.get(doc["jwks_uri"], timeout=10).json())
    claims = pyjwt.decode(token, keys[pyjwt.get_unverified_header(token)["kid"]].key,
                          algorithms=["RS256"], audience="sts.amazonaws.com")  # fmt: skip
    assert claims["kubernetes.io"]["namespace"] == "wallet"


def test_the_issuer_answers_only_get_and_known_paths(bare_cloud) -> None:
    bare_cloud.oidc.ensure_started()
    session = _session(bare_cloud)
    assert session.post(f"{GITHUB_ISSUER}/.well-known/jwks", timeout=10).status_code == 405
    assert session.get(f"{GITHUB_ISSUER}/../../etc/passwd", timeout=10).status_code == 404


@pytest.mark.parametrize(
    "subject",
    ["repo:codehive/wallet", "repo:codehive/wallet:ref:", "repo:a/b:pull_request:x", "x" * 300,
     "repo:codehive/wallet:ref:refs/heads/main\n", "system:serviceaccount::api"],
)  # fmt: skip
def test_subjects_the_issuer_would_never_sign_are_refused(bare_cloud, subject: str) -> None:
    with pytest.raises(SubjectError):
        bare_cloud.oidc.mint(subject, AUD)


def test_verify_accepts_a_fresh_token_for_an_accepted_audience(bare_cloud) -> None:
    token = bare_cloud.oidc.mint(MAIN, AUD)
    state, claims = bare_cloud.oidc.verify(token, audiences=[AUD, "other"])
    assert state.name == "github" and claims["aud"] == AUD


def _forge(header: dict, claims: dict, key: rsa.RSAPrivateKey | None = None) -> str:
    def enc(obj: object) -> str:
        return jwt.b64url(json.dumps(obj).encode())

    if key is None:
        return f"{enc(header)}.{enc(claims)}."
    return jwt.sign(claims, key, header["kid"])


def _claims(**over: object) -> dict:
    now = int(time.time())
    base = {"iss": GITHUB_ISSUER, "sub": MAIN, "aud": AUD, "iat": now, "nbf": now,
            "exp": now + 300}  # fmt: skip
    base.update(over)
    return base


def _hs256(public_key) -> str:
    import hashlib
    import hmac

    from cryptography.hazmat.primitives import serialization

    pem = public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    head = jwt.b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = jwt.b64url(json.dumps(_claims()).encode())
    sig = hmac.new(pem, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{jwt.b64url(sig)}"


def _raw(header: dict, body_text: str, key, kid: str) -> str:
    """A token whose claims are exactly ``body_text`` (for NaN, duplicates …), signed."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    head = jwt.b64url(json.dumps({**header, "kid": kid}).encode())
    body = jwt.b64url(body_text.encode())
    sig = key.sign(f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{head}.{body}.{jwt.b64url(sig)}"


def test_forged_and_odd_tokens_are_refused_with_a_reason(bare_cloud) -> None:
    oidc = bare_cloud.oidc
    real = oidc.github.key
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    good = oidc.mint(MAIN, AUD)
    head, body, sig = good.split(".")
    pr_body = jwt.b64url(json.dumps(_claims(sub="repo:codehive/wallet:pull_request")).encode())
    now = int(time.time())
    cases = {
        "alg none, no signature": (
            _forge({"alg": "none", "kid": real.kid}, _claims()),
            "malformed",
        ),
        "alg none, a signature": (
            _forge({"alg": "none", "kid": real.kid}, _claims()) + "c2ln",
            "algorithm",
        ),
        "HS256 keyed with the public key": (_hs256(real.public_key), "algorithm"),
        "another key, our kid": (jwt.sign(_claims(), attacker, real.kid), "signature"),
        "unknown kid": (jwt.sign(_claims(), attacker, "nope"), "key"),
        "swapped body": (f"{head}.{pr_body}.{sig}", "signature"),
        "expired": (oidc.mint(MAIN, AUD, issued_at=now - 7200, lifetime=300), "expired"),
        "not yet valid": (
            jwt.sign(
                _claims(iat=now + 3600, nbf=now + 3600, exp=now + 7200), real.private_key, real.kid
            ),
            "not_yet_valid",
        ),  # fmt: skip
        "wrong audience": (oidc.mint(MAIN, "api://AzureADTokenExchange"), "audience"),
        "other issuer": (
            jwt.sign(_claims(iss="https://evil.example"), real.private_key, real.kid),
            "issuer",
        ),  # fmt: skip
        "NaN exp": (
            _raw(
                {"alg": "RS256"},
                f'{{"iss":"{GITHUB_ISSUER}","aud":"{AUD}","exp":NaN}}',
                real.private_key,
                real.kid,
            ),
            "malformed",
        ),
        "Infinity exp": (
            _raw(
                {"alg": "RS256"},
                f'{{"iss":"{GITHUB_ISSUER}","aud":"{AUD}","exp":Infinity}}',
                real.private_key,
                real.kid,
            ),
            "malformed",
        ),
        "float exp": (jwt.sign(_claims(exp=now + 300.5), real.private_key, real.kid), "claims"),
        "bool exp": (jwt.sign(_claims(exp=True), real.private_key, real.kid), "claims"),
        "string exp": (
            jwt.sign(_claims(exp=str(now + 300)), real.private_key, real.kid),
            "claims",
        ),  # fmt: skip
        "no exp": (
            jwt.sign(
                {k: v for k, v in _claims().items() if k != "exp"}, real.private_key, real.kid
            ),
            "claims",
        ),  # fmt: skip
        "duplicate sub": (
            _raw(
                {"alg": "RS256"},
                f'{{"iss":"{GITHUB_ISSUER}","aud":"{AUD}","exp":{now + 300},'
                f'"sub":"repo:codehive/wallet:pull_request","sub":"{MAIN}"}}',
                real.private_key,
                real.kid,
            ),
            "malformed",
        ),  # fmt: skip
        "audience list of non-strings": (
            jwt.sign(_claims(aud=[1, 2]), real.private_key, real.kid),
            "audience",
        ),  # fmt: skip
        "two segments": (f"{head}.{body}", "malformed"),
        "padding in base64": (f"{head}=.{body}.{sig}", "malformed"),
        "huge": ("a" * 20000 + "." + body + "." + sig, "malformed"),
        "not a token": ("demo-not-a-real-token", "malformed"),
    }
    for name, (token, reason) in cases.items():
        with pytest.raises(jwt.TokenError) as caught:
            oidc.verify(token, audiences=[AUD])
        assert caught.value.reason == reason, name
        assert token not in str(caught.value), name


def test_token_files_are_private_and_never_written_through_a_planted_path(bare_cloud) -> None:
    path = bare_cloud.oidc.write_token("header.claims.signature", "aws-github-token")
    assert path.read_text() == "header.claims.signature"
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for bad in ("../escape", ".hidden", "a/b", ""):
        with pytest.raises(ValueError):
            bare_cloud.oidc.write_token("x", bad)


def test_signing_keys_are_random_per_start(tmp_path: Path) -> None:
    from guardlib.emulators.ca import LocalCA
    from guardlib.emulators.gateway import Gateway
    from guardlib.emulators.oidc import OidcIssuers

    ca = LocalCA(tmp_path)
    one, two = OidcIssuers(ca, Gateway(), tmp_path), OidcIssuers(ca, Gateway(), tmp_path)
    assert one.github.key.kid != two.github.key.kid
    assert one.kubernetes.url != two.kubernetes.url
    assert one.public_key_pem() != two.public_key_pem()


def test_federation_env_names_the_first_trusted_identity_and_never_the_admin(bare_cloud) -> None:
    bare_cloud.reset()
    with pytest.raises(ValueError, match="no trust is seeded"):
        bare_cloud.federation_env(MAIN)
    bare_cloud.seed(COURSE)
    env = bare_cloud.federation_env(MAIN)  # no cloud emulator in this cloud: shared vars only
    assert env["HTTPS_PROXY"] == bare_cloud.gateway.url
    assert not {"AWS_ACCESS_KEY_ID", "VAULT_TOKEN", "AZURE_CLIENT_SECRET"} & set(env)
    with pytest.raises(ValueError, match="administrator"):
        bare_cloud.federation_env(MAIN, identity="admin")


def test_seed_trusts_are_validated_before_anything_is_stored() -> None:
    spec = SeedSpec.parse(COURSE)
    assert [(t.identity, t.subject) for t in spec.trusts] == [
        ("prod-app", MAIN),
        ("dev-app", "repo:codehive/wallet:environment:dev"),
    ]
    assert spec.trusts[0].matches(MAIN) and not spec.trusts[0].matches(MAIN + "x")
    bad = [
        {"identity": "admin", "subject": MAIN},
        {"identity": "prod-app", "subject": "*"},
        {"identity": "prod-app", "subject": "repo:*"},
        {"identity": "prod-app", "subject": "repo:codehive/*/x*y"},
        {"identity": "prod-app", "subject": MAIN + "\n"},
        {"identity": "prod-app", "subject": MAIN, "issuer": "gitlab"},
        {"identity": "prod-app", "subject": MAIN, "audience": "sts.*"},
        {"identity": "prod-app", "subject": MAIN, "condition": "true"},
    ]
    for trust in bad:
        with pytest.raises(SeedError):
            SeedSpec.parse({"trusts": [trust]})


def test_a_claims_peek_never_needs_the_signature() -> None:
    body = base64.urlsafe_b64encode(json.dumps({"sub": MAIN}).encode()).rstrip(b"=").decode()
    assert jwt.unverified_claims(f"e30.{body}.c2ln")["sub"] == MAIN


def test_a_trust_limited_to_some_clouds_reaches_only_those(bare_cloud) -> None:
    spec = SeedSpec.parse(
        {"trusts": [{"identity": "ci-app", "subject": "repo:codehive/wallet:*",
                     "clouds": ["aws", "gcp"]}, {"identity": "prod-app", "subject": MAIN}]}
    )  # fmt: skip
    assert [t.identity for t in spec.only_for("azure").trusts] == ["prod-app"]
    assert [t.identity for t in spec.only_for("gcp").trusts] == ["ci-app", "prod-app"]
    for clouds in ([], ["oracle"], "aws"):
        with pytest.raises(SeedError):
            SeedSpec.parse({"trusts": [{"identity": "ci-app", "subject": MAIN, "clouds": clouds}]})
