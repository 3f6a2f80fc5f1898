#!/usr/bin/python3
"""EC2 Query protocol pieces of the emulator: errors, request parameters,
parameter schemas per action, value checks, and the XML answers.

Written from AWS's EC2 API documentation and the shared vectors
(../../../../shared/vectors/ec2 in the lab); not from the dmachine driver.
"""

import re
import secrets
import uuid
import xml.etree.ElementTree as ET

NAMESPACE = "http://ec2.amazonaws.com/doc/2016-11-15/"
API_VERSION = "2016-11-15"
OWNER_ID = "123456789012"


class Ec2Error(Exception):
    """An EC2 error answer: code, message and HTTP status."""

    def __init__(self, code, message, status=400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


# Errors whose status is not 400 (AWS's error-code list and the vectors README).
STATUS_OF = {
    "AuthFailure": 401,
    "UnauthorizedOperation": 403,
    "SignatureDoesNotMatch": 403,
    "DryRunOperation": 412,
    "RequestLimitExceeded": 503,
    "Unavailable": 503,
    "ServiceUnavailable": 503,
    "InternalError": 500,
    "InsufficientInstanceCapacity": 500,
    "InsufficientCapacity": 500,
}

# Messages for injected errors (test hooks); the wording follows EC2's.
INJECTED_MESSAGES = {
    "RequestLimitExceeded": "Request limit exceeded.",
    "Unavailable": "The server is overloaded and can't handle the request.",
    "InternalError": "An internal error has occurred",
    "InsufficientInstanceCapacity":
        "We currently do not have sufficient {type} capacity in the Availability "
        "Zone you requested ({zone}). Our system will be working on provisioning "
        "additional capacity. You can currently get {type} capacity by not "
        "specifying an Availability Zone in your request or choosing {others}.",
    "InstanceLimitExceeded":
        "You have requested more instances (1) than your current instance limit "
        "of 0 allows for the specified instance type. Please visit "
        "http://aws.amazon.com/contact-us/ec2-request to request an adjustment to "
        "this limit.",
    "UnauthorizedOperation": "You are not authorized to perform this operation.",
}


def new_id(prefix):
    return prefix + "-" + secrets.token_hex(9)[:17]


def request_id():
    return str(uuid.uuid4())


# ---------------------------------------------------------------- parameters

# Allowed parameter names per action, as regular expressions where N and M are
# list indexes (1-based integers). Common ones (Action, Version) are added.
_N = r"[1-9][0-9]*"
_TAGSPEC = [r"TagSpecification\.N\.ResourceType", r"TagSpecification\.N\.Tag\.N\.(Key|Value)"]
_FILTER = [r"Filter\.N\.Name", r"Filter\.N\.Value\.N"]
_PAGING = [r"MaxResults", r"NextToken"]

SCHEMAS = {
    "RunInstances": [
        "ImageId", "InstanceType", "MinCount", "MaxCount", "KeyName",
        r"SecurityGroupId\.N", r"SecurityGroup\.N", "SubnetId", "UserData",
        "ClientToken", "DryRun", "EbsOptimized", r"Monitoring\.Enabled",
        r"IamInstanceProfile\.(Name|Arn)", r"Placement\.(AvailabilityZone|Tenancy)",
        "PrivateIpAddress", "InstanceInitiatedShutdownBehavior", "DisableApiTermination",
        r"BlockDeviceMapping\.N\.(DeviceName|VirtualName|NoDevice)",
        r"BlockDeviceMapping\.N\.Ebs\.(VolumeSize|VolumeType|DeleteOnTermination|Iops|Encrypted|SnapshotId|Throughput|KmsKeyId)",
        r"InstanceMarketOptions\.MarketType",
        r"InstanceMarketOptions\.SpotOptions\.(MaxPrice|SpotInstanceType|BlockDurationMinutes|InstanceInterruptionBehavior|ValidUntil)",
        r"NetworkInterface\.N\.(DeviceIndex|SubnetId|AssociatePublicIpAddress|DeleteOnTermination|PrivateIpAddress|Description)",
        r"NetworkInterface\.N\.SecurityGroupId\.N",
        r"MetadataOptions\.(HttpTokens|HttpEndpoint|HttpPutResponseHopLimit)",
    ] + _TAGSPEC,
    "DescribeInstances": [r"InstanceId\.N", "DryRun"] + _FILTER + _PAGING,
    "StartInstances": [r"InstanceId\.N", "DryRun", "AdditionalInfo"],
    "StopInstances": [r"InstanceId\.N", "DryRun", "Force", "Hibernate"],
    "RebootInstances": [r"InstanceId\.N", "DryRun"],
    "TerminateInstances": [r"InstanceId\.N", "DryRun"],
    "ImportKeyPair": ["KeyName", "PublicKeyMaterial", "DryRun"] + _TAGSPEC,
    "DeleteKeyPair": ["KeyName", "KeyPairId", "DryRun"],
    "DescribeKeyPairs": [r"KeyName\.N", r"KeyPairId\.N", "DryRun", "IncludePublicKey"] + _FILTER,
    "CreateSecurityGroup": ["GroupName", "GroupDescription", "VpcId", "DryRun"] + _TAGSPEC,
    "DeleteSecurityGroup": ["GroupId", "GroupName", "DryRun"],
    "AuthorizeSecurityGroupIngress": [
        "GroupId", "GroupName", "DryRun", "IpProtocol", "FromPort", "ToPort", "CidrIp",
        "SourceSecurityGroupName", "SourceSecurityGroupOwnerId",
        r"IpPermissions\.N\.(IpProtocol|FromPort|ToPort)",
        r"IpPermissions\.N\.IpRanges\.N\.(CidrIp|Description)",
        r"IpPermissions\.N\.Ipv6Ranges\.N\.(CidrIpv6|Description)",
        r"IpPermissions\.N\.Groups\.N\.(GroupId|GroupName|UserId|Description)",
    ] + _TAGSPEC,
    "DescribeSecurityGroups": [r"GroupId\.N", r"GroupName\.N", "DryRun"] + _FILTER + _PAGING,
    "DescribeSubnets": [r"SubnetId\.N", "DryRun"] + _FILTER + _PAGING,
    "DescribeVpcs": [r"VpcId\.N", "DryRun"] + _FILTER + _PAGING,
    "DescribeImages": [r"ImageId\.N", r"Owner\.N", r"ExecutableBy\.N", "DryRun",
                       "IncludeDeprecated", "IncludeDisabled"] + _FILTER + _PAGING,
    "DescribeAvailabilityZones": [r"ZoneName\.N", r"ZoneId\.N", "AllAvailabilityZones",
                                  "DryRun"] + _FILTER,
    "CreateTags": [r"ResourceId\.N", r"Tag\.N\.(Key|Value)", "DryRun"],
    "DeleteTags": [r"ResourceId\.N", r"Tag\.N\.(Key|Value)", "DryRun"],
}

# The Query wire name of UserIdGroupPairs in a request is "Groups" (the service
# model's locationName); botocore sends IpPermissions.1.Groups.1.GroupId.
_COMPILED = {
    action: re.compile("^(Action|Version|" + "|".join(
        re.sub(r"\\\.N(?=\\\.|$)", lambda _: r"\." + _N, p) for p in pats) + ")$")
    for action, pats in SCHEMAS.items()
}


def check_known_parameters(action, params):
    """UnknownParameter for the first name the action does not take."""
    pattern = _COMPILED[action]
    for name in params:
        if not pattern.match(name):
            raise Ec2Error("UnknownParameter", "The parameter %s is not recognized" % name)


def indexed(params, prefix):
    """Values of prefix.1, prefix.2, ... ordered by index: list of strings."""
    rx = re.compile("^" + re.escape(prefix) + r"\.(" + _N + ")$")
    found = sorted((int(m.group(1)), v) for k, v in params.items() if (m := rx.match(k)))
    return [v for _, v in found]


def indexed_groups(params, prefix):
    """Sub-dicts of prefix.N.<rest>: list of dicts ordered by N."""
    rx = re.compile("^" + re.escape(prefix) + r"\.(" + _N + r")\.(.+)$")
    groups = {}
    for k, v in params.items():
        m = rx.match(k)
        if m:
            groups.setdefault(int(m.group(1)), {})[m.group(2)] = v
    return [groups[i] for i in sorted(groups)]


def required(params, name):
    value = params.get(name)
    if value is None or value == "":
        raise Ec2Error("MissingParameter", "The request must contain the parameter %s" % name)
    return value


def boolean(params, name, default=False):
    value = params.get(name)
    if value is None:
        return default
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise Ec2Error("InvalidParameterValue",
                   "Value (%s) for parameter %s is invalid. Expected: 'true' or 'false'."
                   % (value, name))


def integer(params, name, default=None, low=None, high=None):
    value = params.get(name)
    if value is None:
        return default
    if not re.fullmatch(r"-?[0-9]+", value):
        raise Ec2Error("InvalidParameterValue",
                       "Invalid value '%s' for %s. It should be an integer." % (value, name))
    number = int(value)
    if (low is not None and number < low) or (high is not None and number > high):
        raise Ec2Error("InvalidParameterValue",
                       "Value (%s) for parameter %s is invalid." % (value, name))
    return number


def filters(params):
    """[(name, [values])] from Filter.N.Name / Filter.N.Value.M."""
    out = []
    for group in indexed_groups(params, "Filter"):
        name = group.get("Name")
        if not name:
            raise Ec2Error("MissingParameter", "The request must contain the parameter Filter.Name")
        values = [v for k, v in sorted(
            ((int(k.split(".")[1]), v) for k, v in group.items() if k.startswith("Value.")))]
        out.append((name, values))
    return out


def wildcard_match(pattern, value):
    """EC2 filter values: '*' any run, '?' one character, '\\' escapes."""
    rx = ""
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            rx += re.escape(pattern[i + 1])
            i += 2
            continue
        rx += ".*" if c == "*" else "." if c == "?" else re.escape(c)
        i += 1
    return re.fullmatch(rx, value or "", re.DOTALL) is not None


def apply_filters(items, flist, getters, tags_of):
    """Keeps the items matching every filter (values of one filter are OR-ed).
    getters: filter name -> function(item) -> value or list of values."""
    for name, _ in flist:
        if name not in getters and not name.startswith("tag:") and name not in ("tag-key", "tag-value"):
            raise Ec2Error("InvalidParameterValue", "The filter '%s' is invalid" % name)
    out = []
    for item in items:
        ok = True
        for name, values in flist:
            if name.startswith("tag:"):
                tags = tags_of(item)
                key = name[4:]
                have = [tags[key]] if key in tags else []
            elif name == "tag-key":
                have = list(tags_of(item).keys())
            elif name == "tag-value":
                have = list(tags_of(item).values())
            else:
                got = getters[name](item)
                have = got if isinstance(got, list) else [got]
            have = [str(h).lower() if isinstance(h, bool) else str(h) for h in have if h is not None]
            if not any(wildcard_match(v, h) for v in values for h in have):
                ok = False
                break
        if ok:
            out.append(item)
    return out


def tag_specifications(params, allowed_types):
    """{resource type: {key: value}} from TagSpecification.N...; checks types and keys."""
    out = {}
    for spec in indexed_groups(params, "TagSpecification"):
        rtype = spec.get("ResourceType")
        if not rtype:
            raise Ec2Error("InvalidParameterValue",
                           "Tag specification resource type must have a value")
        if rtype not in allowed_types:
            raise Ec2Error("InvalidParameterValue",
                           "'%s' is not a valid taggable resource type for this operation."
                           % rtype)
        tags = out.setdefault(rtype, {})
        for tag in indexed_groups({k: v for k, v in spec.items() if k.startswith("Tag.")}, "Tag"):
            key = tag.get("Key")
            check_tag(key, tag.get("Value", ""))
            tags[key] = tag.get("Value", "")
    return out


def check_tag(key, value):
    if key is None or key == "":
        raise Ec2Error("InvalidParameterValue", "Tag key cannot be empty")
    if key.lower().startswith("aws:"):
        raise Ec2Error("InvalidParameterValue",
                       "Value ( %s ) for parameter key is invalid. Tag keys starting with "
                       "'aws:' are reserved for internal use" % key)
    if len(key) > 128 or len(value or "") > 256:
        raise Ec2Error("InvalidParameterValue", "Tag key or value is too long")


# ---------------------------------------------------------------- id formats

ID_FORMATS = {
    "i": ("InvalidInstanceID.Malformed", 'Invalid id: "%s"'),
    "sg": ("InvalidGroupId.Malformed", 'Invalid id: "%s" (expecting "sg-...")'),
    "ami": ("InvalidAMIID.Malformed", 'Invalid id: "%s" (expecting "ami-...")'),
    "subnet": ("InvalidSubnetID.Malformed", 'Invalid id: "%s"'),
    "vpc": ("InvalidVpcID.Malformed", 'Invalid id: "%s"'),
    "key": ("InvalidKeyPair.Malformed", 'Invalid id: "%s"'),
}


def check_id(prefix, value):
    if not re.fullmatch(re.escape(prefix) + r"-([0-9a-f]{8}|[0-9a-f]{17})", value or ""):
        code, fmt = ID_FORMATS[prefix]
        raise Ec2Error(code, fmt % value)


# ---------------------------------------------------------------- XML

def response_root(action):
    root = ET.Element(action + "Response", xmlns=NAMESPACE)
    ET.SubElement(root, "requestId").text = request_id()
    return root


def sub(parent, name, text=None):
    """Adds <name>text</name>; bools as true/false, None text gives an empty element."""
    element = ET.SubElement(parent, name)
    if isinstance(text, bool):
        element.text = "true" if text else "false"
    elif text is not None:
        element.text = str(text)
    return element


def add_tags(parent, tags, omit_empty=True):
    """<tagSet><item><key/><value/></item></tagSet>; EC2 omits an empty tagSet."""
    if not tags and omit_empty:
        return
    tag_set = sub(parent, "tagSet")
    for key, value in tags.items():
        item = sub(tag_set, "item")
        sub(item, "key", key)
        sub(item, "value", value)


def to_bytes(root):
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8")


def error_bytes(code, message, req_id=None):
    """EC2's error document: Response/Errors/Error/{Code,Message} and RequestID."""
    root = ET.Element("Response")
    error = ET.SubElement(ET.SubElement(root, "Errors"), "Error")
    ET.SubElement(error, "Code").text = code
    ET.SubElement(error, "Message").text = message
    ET.SubElement(root, "RequestID").text = req_id or request_id()
    return to_bytes(root)
