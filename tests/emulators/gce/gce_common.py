"""Pieces shared by the Compute emulator: Google's error bodies, resource
names and URLs, timestamps and ids, metadata and tag checks, list filters and
pages."""

import base64
import copy
import datetime
import re
import secrets
import time

NAME_RE = "[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?"
NAME = re.compile(NAME_RE)
_META_KEY = re.compile(r"[a-zA-Z0-9-_]{1,128}")
SCOPE_WRITE = ("https://www.googleapis.com/auth/compute",
               "https://www.googleapis.com/auth/cloud-platform")
SCOPE_READ = SCOPE_WRITE + ("https://www.googleapis.com/auth/compute.readonly",)
SCOPE_ALIASES = {"cloud-platform", "compute", "compute-ro", "default", "storage-ro",
                 "storage-rw", "storage-full", "logging-write", "monitoring",
                 "monitoring-write", "service-control", "service-management", "trace",
                 "userinfo-email", "pubsub", "datastore", "bigquery", "sql-admin",
                 "cloud-source-repos", "cloud-source-repos-ro"}
HOST_PREFIXES = ("https://www.googleapis.com/compute/v1/",
                 "https://compute.googleapis.com/compute/v1/")


class ApiError(Exception):
    """An HTTP-level Compute error: Google's {"error": {...}} body."""

    def __init__(self, code, reason, message, status=None, domain="global", extra=None):
        super().__init__(message)
        self.code = code
        item = {"message": message, "domain": domain, "reason": reason}
        item.update(extra or {})
        self.body = {"error": {"code": code, "message": message, "errors": [item]}}
        if status:
            self.body["error"]["status"] = status


def invalid(message):
    return ApiError(400, "invalid", message)


def invalid_field(field, value, why):
    return invalid("Invalid value for field '%s': '%s'. %s" % (field, value, why))


def not_found(resource):
    return ApiError(404, "notFound", "The resource '%s' was not found" % resource)


def now_rfc3339(t=None):
    tz = datetime.timezone(datetime.timedelta(hours=-8))
    d = datetime.datetime.fromtimestamp(t if t is not None else time.time(), tz)
    return d.isoformat(timespec="milliseconds")


def new_id():
    return str(secrets.randbelow(9 * 10 ** 18) + 10 ** 18)



def public(resource):
    """A deep copy without the emulator's own "_" fields (safe to serialise while
    a worker changes the original)."""
    return copy.deepcopy({k: v for k, v in resource.items() if not k.startswith("_")})


def new_fingerprint():
    return base64.b64encode(secrets.token_bytes(8)).decode()


def relative(url):
    """A resource URL without the host part, as projects/... or zones/... ."""
    for prefix in HOST_PREFIXES:
        if url.startswith(prefix):
            return url[len(prefix):]
    return url



def check_metadata(items, field):
    seen, total = set(), 0
    for i, item in enumerate(items):
        key = item.get("key")
        if key is None or not _META_KEY.fullmatch(key):
            raise invalid_field("%s.items[%d].key" % (field, i), key or "",
                                "Must be a match of regex '[a-zA-Z0-9-_]{1,128}'")
        if key in seen:
            raise invalid_field(field, "", "Duplicate keys: '%s'." % key)
        seen.add(key)
        total += len(key) + len(item.get("value") or "")
    if total > 512 * 1024:
        raise invalid("Invalid value for field '%s': ''. Metadata has exceeded the size "
                      "limit of 512 KB." % field)


def check_tags(items, field):
    for i, tag in enumerate(items):
        if not NAME.fullmatch(tag):
            raise invalid_field("%s.items[%d]" % (field, i), tag,
                                "Must be a match of regex '(?:%s)'" % NAME_RE)


def matches_filter(item, expr):
    """The list filter subset: `FIELD = VALUE`, `FIELD != VALUE`, `FIELD eq REGEX`,
    `FIELD ne REGEX`, terms joined by spaces or AND, each optionally in
    parentheses; FIELD is name, status, or labels.KEY."""
    if not expr:
        return True
    terms = re.findall(r"\(?\s*([A-Za-z][A-Za-z0-9_.-]*)\s*(!=|=|\beq\b|\bne\b)\s*"
                       r"(\"[^\"]*\"|'[^']*'|[^\s()]+)\s*\)?(?:\s+AND\s+|\s+|$)", expr)
    rebuilt = re.sub(r"\s+", "", "".join(
        "%s%s%s" % t for t in terms))
    if not terms or rebuilt != re.sub(r"\s+|AND|[()]", "", expr):
        raise invalid("Invalid value for field 'filter': '%s'. Invalid list filter "
                      "expression." % expr)
    for field, op, value in terms:
        value = value.strip("\"'")
        if field.startswith("labels."):
            actual = item.get("labels", {}).get(field[len("labels."):])
        elif field in ("name", "status", "direction", "network"):
            actual = item.get(field)
        else:
            raise invalid("Invalid value for field 'filter': '%s'. Field '%s' is not "
                          "supported by this emulator." % (expr, field))
        actual = "" if actual is None else str(actual)
        if op == "=":
            ok = actual == value
        elif op == "!=":
            ok = actual != value
        else:
            ok = re.fullmatch(value, actual) is not None
            ok = ok if op == "eq" else not ok
        if not ok:
            return False
    return True


def page(items, query, kind, self_link, rel):
    try:
        max_results = int(query.get("maxResults", "500"))
        start = int(query.get("pageToken") or "0")
    except ValueError:
        raise invalid("Invalid value for field 'pageToken' or 'maxResults'.")
    if not 0 <= max_results <= 500 or start < 0:
        raise invalid("Invalid value for field 'maxResults': '%d'. Must be less than or "
                      "equal to 500" % max_results)
    if max_results == 0:
        max_results = 500
    chunk = items[start:start + max_results]
    out = {"kind": kind, "id": rel, "items": chunk, "selfLink": self_link}
    if start + max_results < len(items):
        out["nextPageToken"] = str(start + max_results)
    if not chunk:
        del out["items"]
    return out

