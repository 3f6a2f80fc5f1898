"""Request body checks against the Compute v1 discovery document (subset).

Like the real API's JSON parser: an unknown field, a wrong JSON type, an int64
not written as a string, or a value outside an enum is a 400 "invalid".
Schemas referenced but absent from the subset accept any object.
"""

import json
import os
import re

_HERE = os.path.dirname(os.path.abspath(__file__))
DISCOVERY = os.path.join(_HERE, "compute-v1-subset.json")

_INT_FORMATS = ("int64", "uint64")


class SchemaError(Exception):
    """A body that the API's parser refuses; `message` is Google's wording."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


class Schemas:
    def __init__(self, path=DISCOVERY):
        with open(path, encoding="utf-8") as f:
            self.doc = json.load(f)
        self.schemas = self.doc["schemas"]

    def check(self, schema_name, body):
        """Raises SchemaError for the first problem found in `body`."""
        if not isinstance(body, dict):
            raise SchemaError("Invalid JSON payload received. Expected an object.")
        self._check_object({"$ref": schema_name}, body, "resource")

    def _resolve(self, spec):
        ref = spec.get("$ref")
        if ref is None:
            return spec
        return self.schemas.get(ref)  # None: not in the subset, anything goes

    def _check_object(self, spec, value, where):
        spec = self._resolve(spec)
        if spec is None:
            if not isinstance(value, dict):
                raise _type_error(where, "object")
            return
        if "additionalProperties" in spec:
            if not isinstance(value, dict):
                raise _type_error(where, "object")
            for k, v in value.items():
                self._check_value(spec["additionalProperties"], v, "%s.%s" % (where, k))
            return
        props = spec.get("properties", {})
        for key, item in value.items():
            if key not in props:
                raise SchemaError(
                    "Invalid JSON payload received. Unknown name \"%s\" at '%s': "
                    "Cannot find field." % (key, where))
            self._check_value(props[key], item, "%s.%s" % (where, key))

    def _check_value(self, spec, value, where):
        if "$ref" in spec:
            return self._check_object(spec, value, where)
        kind = spec.get("type")
        if kind == "object":
            if not isinstance(value, dict):
                raise _type_error(where, "object")
            return self._check_object(spec, value, where)
        if kind == "array":
            if not isinstance(value, list):
                raise _type_error(where, "array")
            for i, item in enumerate(value):
                self._check_value(spec.get("items", {}), item, "%s[%d]" % (where, i))
            return
        if kind == "string":
            if not isinstance(value, str):
                if spec.get("format") in _INT_FORMATS:
                    raise SchemaError(
                        "Invalid value at '%s' (TYPE_INT64): %s is a JSON number; this "
                        "emulator wants int64 fields as JSON strings, as Google writes "
                        "them" % (where, json.dumps(value)))
                raise _type_error(where, "string")
            if spec.get("format") in _INT_FORMATS and not re.fullmatch(r"-?[0-9]+", value):
                raise SchemaError("Invalid value at '%s' (TYPE_INT64), \"%s\"" % (where, value))
            if "enum" in spec and value not in spec["enum"]:
                raise SchemaError(
                    "Invalid value at '%s' (TYPE_ENUM), \"%s\"" % (where, value))
            return
        if kind == "integer":
            if isinstance(value, bool) or not isinstance(value, int):
                raise _type_error(where, "integer")
            return
        if kind == "boolean":
            if not isinstance(value, bool):
                raise _type_error(where, "boolean")
            return


def _type_error(where, expected):
    return SchemaError("Invalid value at '%s': expected a JSON %s" % (where, expected))
