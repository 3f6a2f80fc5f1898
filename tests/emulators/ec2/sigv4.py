#!/usr/bin/python3
"""AWS Signature Version 4 (AWS4-HMAC-SHA256), written from AWS's SigV4 documentation.

Both halves the EC2 emulator needs: verify() checks a received request's
Authorization header; sign() signs a request (used by the emulator's tests as an
independent client). Standard library only. Pure functions: value in, value out.
"""

import hashlib
import hmac
import re
import urllib.parse

ALGORITHM = "AWS4-HMAC-SHA256"
_UNRESERVED = "-_.~"  # with A-Z a-z 0-9: never percent-encoded


def uri_encode(value, encode_slash=True):
    """Percent-encodes every byte except the unreserved set, upper-case hex."""
    safe = _UNRESERVED if encode_slash else _UNRESERVED + "/"
    if isinstance(value, str):
        value = value.encode("utf-8")
    return urllib.parse.quote(value, safe=safe)


def canonical_uri(raw_path):
    """Normalised, encoded path: dot segments removed, repeated slashes merged,
    each segment decoded once then encoded (EC2 is normalised; S3 would not be)."""
    path = urllib.parse.unquote_to_bytes(raw_path or "/")
    segments = []
    for segment in path.split(b"/"):
        if segment in (b"", b"."):
            continue
        if segment == b"..":
            if segments:
                segments.pop()
            continue
        segments.append(segment)
    out = "/" + "/".join(uri_encode(s) for s in segments)
    if len(path) > 1 and path.endswith(b"/") and out != "/":
        out += "/"
    return out


def canonical_query(raw_query):
    """Sorted 'key=value' pairs of the raw query string, each decoded once and
    re-encoded; sorted by encoded key then encoded value (byte order)."""
    if not raw_query:
        return ""
    pairs = []
    for part in raw_query.split("&"):
        if part == "":
            continue
        key, _, value = part.partition("=")
        pairs.append((uri_encode(urllib.parse.unquote_to_bytes(key)),
                      uri_encode(urllib.parse.unquote_to_bytes(value))))
    pairs.sort()
    return "&".join(k + "=" + v for k, v in pairs)


def _header_value(values):
    """Values of one header in request order, each trimmed with inner runs of
    whitespace (folded lines included) collapsed to one space, joined by ','."""
    return ",".join(re.sub(r"\s+", " ", v.strip()) for v in values)


def canonical_request(method, raw_path, raw_query, headers, signed_headers, body):
    """headers: list of (name, value) in request order. signed_headers: lower-case
    names. body: bytes. Returns the canonical request text."""
    lines = [method.upper(), canonical_uri(raw_path), canonical_query(raw_query)]
    for name in signed_headers:
        values = [v for (n, v) in headers if n.lower() == name]
        lines.append(name + ":" + _header_value(values))
    lines.append("")
    lines.append(";".join(signed_headers))
    lines.append(hashlib.sha256(body).hexdigest())
    return "\n".join(lines)


def string_to_sign(amz_date, scope, creq):
    return "\n".join([ALGORITHM, amz_date, scope,
                      hashlib.sha256(creq.encode("utf-8")).hexdigest()])


def signing_key(secret, date, region, service):
    key = ("AWS4" + secret).encode("utf-8")
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return key


def signature(secret, date, region, service, sts):
    key = signing_key(secret, date, region, service)
    return hmac.new(key, sts.encode("utf-8"), hashlib.sha256).hexdigest()


def parse_authorization(value):
    """Splits 'AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...'.
    Returns (fields dict, error text or None)."""
    value = (value or "").strip()
    algorithm, _, rest = value.partition(" ")
    if algorithm != ALGORITHM:
        return None, "Unsupported AWS 'algorithm': '%s'" % algorithm
    fields = {}
    for part in rest.split(","):
        key, eq, val = part.strip().partition("=")
        if eq:
            fields[key] = val
    for required in ("Credential", "SignedHeaders", "Signature"):
        if required not in fields:
            return None, ("Authorization header requires '%s' parameter. "
                          "Authorization=%s" % (required, value))
    scope = fields["Credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        return None, ("Credential should be scoped to a valid region, not '%s'. "
                      % (scope[2] if len(scope) > 2 else ""))
    fields["access_key"], fields["date"], fields["region"], fields["service"] = scope[:4]
    fields["signed_headers"] = fields["SignedHeaders"].split(";")
    return fields, None


def sign(method, url_path, raw_query, headers, body, access_key, secret, region,
         service, amz_date, session_token=None, signed_names=None):
    """Signs a request. headers: list of (name, value); X-Amz-Date (and the
    token, if any) are added. Returns the new header list with Authorization."""
    headers = list(headers)
    if not any(n.lower() == "x-amz-date" for n, _ in headers):
        headers.append(("X-Amz-Date", amz_date))
    if session_token is not None and not any(
            n.lower() == "x-amz-security-token" for n, _ in headers):
        headers.append(("X-Amz-Security-Token", session_token))
    if signed_names is None:
        signed_names = sorted({n.lower() for n, _ in headers})
    creq = canonical_request(method, url_path, raw_query, headers, signed_names, body)
    scope = "/".join([amz_date[:8], region, service, "aws4_request"])
    sts = string_to_sign(amz_date, scope, creq)
    sig = signature(secret, amz_date[:8], region, service, sts)
    auth = "%s Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
        ALGORITHM, access_key, scope, ";".join(signed_names), sig)
    headers.append(("Authorization", auth))
    return headers


def verify(method, raw_path, raw_query, headers, body, fields, secret):
    """True when the request's signature (parsed Authorization fields) is the one
    computed with the secret. Compared in constant time."""
    creq = canonical_request(method, raw_path, raw_query, headers,
                             fields["signed_headers"], body)
    amz_date = ""
    for n, v in headers:
        if n.lower() == "x-amz-date":
            amz_date = v.strip()
    scope = "/".join([fields["date"], fields["region"], fields["service"], "aws4_request"])
    sts = string_to_sign(amz_date, scope, creq)
    expected = signature(secret, fields["date"], fields["region"], fields["service"], sts)
    return hmac.compare_digest(expected, fields["Signature"])


def parse_raw_request(text):
    """Parses a test-suite .req/.sreq text: request line, headers (continuation
    lines folded into the previous value), blank line, body. The path is what is
    between the method and the last ' HTTP/' (get-space has a raw space)."""
    head, sep, body = text.partition("\n\n")
    lines = head.split("\n")
    request_line = lines[0]
    method, _, rest = request_line.partition(" ")
    target = rest[:rest.rfind(" HTTP/")]
    path, _, query = target.partition("?")
    headers = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and headers:
            name, value = headers[-1]
            headers[-1] = (name, value + "\n" + line)
            continue
        name, _, value = line.partition(":")
        headers.append((name, value))
    return method, path, query, headers, body.encode("utf-8")
