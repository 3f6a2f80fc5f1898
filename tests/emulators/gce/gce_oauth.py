"""Google's OAuth 2.0 token endpoint, as seen by a service account or gcloud.

Two grants: the JWT-bearer assertion (RFC 7523) signed RS256 with a service
account's private key, verified here with its PUBLIC key; and refresh_token for
an authorized_user (client_id, client_secret, refresh_token). Errors are
Google's bodies (HTTP 400 unless noted). Tokens are random and opaque.
"""

import base64
import binascii
import hmac
import json
import secrets
import threading
import time
import urllib.parse

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
REFRESH_GRANT = "refresh_token"
MAX_LIFETIME = 3600      # Google refuses exp - iat > 3600
CLOCK_SKEW = 300         # tolerance for iat in the future / exp in the past

BAD_TIMES = ("Invalid JWT: Token must be a short-lived token (60 minutes) and in a "
             "reasonable timeframe. Check your iat and exp values and use a clock with "
             "skew to account for clock differences between systems.")


class TokenError(Exception):
    def __init__(self, error, description, status=400):
        super().__init__(description)
        self.status = status
        self.body = {"error": error, "error_description": description}


def b64url_decode(text):
    if not isinstance(text, str) or not all(c.isalnum() or c in "-_" for c in text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def load_public_key(pem_bytes):
    """A PEM public key (SPKI), or a certificate, or a private key's public half."""
    if b"PRIVATE KEY" in pem_bytes:
        key = serialization.load_pem_private_key(pem_bytes, password=None).public_key()
    elif b"CERTIFICATE" in pem_bytes:
        from cryptography import x509
        key = x509.load_pem_x509_certificate(pem_bytes).public_key()
    else:
        key = serialization.load_pem_public_key(pem_bytes)
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("not an RSA key")
    return key


class Token:
    __slots__ = ("value", "principal", "scopes", "expires_at")

    def __init__(self, value, principal, scopes, expires_at):
        self.value = value
        self.principal = principal
        self.scopes = scopes
        self.expires_at = expires_at


class TokenService:
    """Thread-safe. `token_uri` is the only audience accepted."""

    def __init__(self, token_uri, lifetime=3599, clock=time.time):
        self.token_uri = token_uri
        self.lifetime = lifetime
        self.clock = clock
        self.service_accounts = {}    # client_email -> RSA public key
        self.authorized_users = {}    # client_id -> {client_secret, refresh_token, scopes}
        self._tokens = {}
        self._issued = 0
        self._lock = threading.Lock()

    # -- configuration
    def add_service_account(self, email, pem_bytes):
        self.service_accounts[email] = load_public_key(pem_bytes)

    def add_authorized_user(self, client_id, client_secret, refresh_token, scopes=None):
        self.authorized_users[client_id] = {
            "client_secret": client_secret, "refresh_token": refresh_token,
            "scopes": scopes or ["https://www.googleapis.com/auth/cloud-platform"]}

    # -- the endpoint
    def handle(self, content_type, body):
        """Returns (status, json dict) for a POST /token."""
        try:
            return 200, self._grant(content_type, body)
        except TokenError as e:
            return e.status, e.body

    def _grant(self, content_type, body):
        if (content_type or "").split(";")[0].strip().lower() != \
                "application/x-www-form-urlencoded":
            raise TokenError("invalid_request", "Bad Request")
        try:
            form = urllib.parse.parse_qs(body.decode("ascii"), keep_blank_values=True,
                                         strict_parsing=True)
        except (UnicodeDecodeError, ValueError):
            raise TokenError("invalid_request", "Bad Request")
        if any(len(v) != 1 for v in form.values()):
            raise TokenError("invalid_request", "Bad Request")
        form = {k: v[0] for k, v in form.items()}
        grant = form.get("grant_type")
        if grant is None:
            raise TokenError("invalid_request", "Missing required parameter: grant_type")
        if grant == JWT_GRANT:
            if "assertion" not in form:
                raise TokenError("invalid_request", "Missing required parameter: assertion")
            principal, scopes = self._verify_assertion(form["assertion"])
        elif grant == REFRESH_GRANT:
            principal, scopes = self._verify_refresh(form)
        else:
            raise TokenError("unsupported_grant_type", "Invalid grant_type: " + grant)
        return self._issue(principal, scopes)

    def _verify_assertion(self, assertion):
        parts = assertion.split(".")
        if len(parts) != 3:
            raise TokenError("invalid_grant", "Invalid JWT: the assertion is not a JWS "
                             "in compact serialization")
        try:
            header = json.loads(b64url_decode(parts[0]))
            claims = json.loads(b64url_decode(parts[1]))
            signature = b64url_decode(parts[2])
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise TokenError("invalid_grant", "Invalid JWT: the assertion is not valid "
                             "base64url JSON")
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise TokenError("invalid_grant", "Invalid JWT: header and claims must be "
                             "JSON objects")
        if header.get("alg") != "RS256":
            raise TokenError("invalid_grant", "Invalid JWT: unsupported signing algorithm "
                             "%s" % json.dumps(header.get("alg")))
        key = self.service_accounts.get(claims.get("iss"))
        if key is None:
            raise TokenError("invalid_grant", "Invalid grant: account not found")
        try:
            key.verify(signature, (parts[0] + "." + parts[1]).encode("ascii"),
                       padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            raise TokenError("invalid_grant", "Invalid JWT Signature.")
        if claims.get("aud") != self.token_uri:
            raise TokenError("invalid_grant", "Invalid JWT: Failed audience check. The "
                             "right audience is " + self.token_uri)
        iat, exp = claims.get("iat"), claims.get("exp")
        now = self.clock()
        if not _is_int(iat) or not _is_int(exp) or exp <= iat or \
                exp - iat > MAX_LIFETIME or iat > now + CLOCK_SKEW or exp < now - CLOCK_SKEW:
            raise TokenError("invalid_grant", BAD_TIMES)
        if "sub" in claims:  # domain-wide delegation is not emulated
            raise TokenError("unauthorized_client", "Client is unauthorized to retrieve "
                             "access tokens using this method, or client not authorized "
                             "for any of the scopes requested.", status=401)
        scope = claims.get("scope")
        if not isinstance(scope, str) or not scope.strip():
            raise TokenError("invalid_scope", "Empty or missing scope not allowed.")
        scopes = scope.split(" ")
        if any(not s.startswith("https://www.googleapis.com/auth/") for s in scopes):
            raise TokenError("invalid_scope", "Invalid OAuth scope or ID token audience "
                             "provided.")
        return claims["iss"], scopes

    def _verify_refresh(self, form):
        for name in ("client_id", "client_secret", "refresh_token"):
            if name not in form:
                raise TokenError("invalid_request", "Missing required parameter: " + name)
        user = self.authorized_users.get(form["client_id"])
        if user is None:
            raise TokenError("invalid_client", "The OAuth client was not found.", status=401)
        if not hmac.compare_digest(user["client_secret"], form["client_secret"]):
            raise TokenError("invalid_client", "Unauthorized", status=401)
        if not hmac.compare_digest(user["refresh_token"], form["refresh_token"]):
            raise TokenError("invalid_grant", "Bad Request")
        return "user:" + form["client_id"], list(user["scopes"])

    def _issue(self, principal, scopes):
        value = "ya29.emu-" + secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[value] = Token(value, principal, scopes,
                                        self.clock() + self.lifetime)
            self._issued += 1
        return {"access_token": value, "expires_in": self.lifetime, "token_type": "Bearer"}

    # -- for the API side
    def lookup(self, value):
        """The live Token for a bearer value, or None (unknown or expired)."""
        with self._lock:
            token = self._tokens.get(value)
            if token is not None and token.expires_at <= self.clock():
                return None
            return token

    def expire_all(self):
        with self._lock:
            for token in self._tokens.values():
                token.expires_at = 0

    def stats(self):
        with self._lock:
            now = self.clock()
            return {"issued": self._issued,
                    "live": sum(1 for t in self._tokens.values() if t.expires_at > now)}


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)
