"""Compute Engine firewall rules (global): checks, resources, global
operations. Recorded only: the rules are not enforced on the hosts' network."""

import ipaddress
import re
import time

from gce_common import NAME, NAME_RE, ApiError, invalid, invalid_field, matches_filter, \
    new_id, not_found, now_rfc3339, page, public, relative

PROTOCOLS = ("tcp", "udp", "icmp", "esp", "ah", "sctp", "ipip", "all")
_PORT = re.compile(r"([0-9]{1,5})(?:-([0-9]{1,5}))?")
_LIST_FIELDS = ("destinationRanges", "sourceTags", "targetTags", "sourceServiceAccounts",
                "targetServiceAccounts", "allowed", "denied")
_PATCHABLE = _LIST_FIELDS + ("name", "description", "network", "priority", "sourceRanges",
                             "direction", "logConfig", "disabled")


class FirewallsMixin:
    """Part of Compute: needs its lock, link(), operations and _spawn()."""

    def validate_firewall(self, project, body):
        name = body.get("name")
        if name is None or not NAME.fullmatch(name):
            raise invalid_field("resource.name", name or "", "Must be a match of regex "
                                "'(?:%s)'" % NAME_RE)
        network = self._network(project, body.get("network", "global/networks/default"),
                                "resource.network")
        direction = body.get("direction", "INGRESS")
        priority = body.get("priority", 1000)
        if not 0 <= priority <= 65535:
            raise invalid_field("resource.priority", priority, "Must be between 0 and 65535.")
        allowed, denied = body.get("allowed"), body.get("denied")
        if bool(allowed) == bool(denied):
            raise invalid("Invalid value for field 'resource': ''. Exactly one of 'allowed' "
                          "or 'denied' must be specified.")
        field = "allowed" if allowed else "denied"
        for i, rule in enumerate(allowed or denied):
            proto = rule.get("IPProtocol")
            if proto is None:
                raise invalid("Invalid value for field 'resource.%s[%d].IPProtocol': ''. "
                              "IPProtocol must be specified." % (field, i))
            if proto not in PROTOCOLS and not (proto.isdigit() and int(proto) <= 255):
                raise invalid_field("resource.%s[%d].IPProtocol" % (field, i), proto,
                                    "Must be one of [tcp, udp, icmp, esp, ah, sctp, ipip, "
                                    "all] or an IP protocol number.")
            ports = rule.get("ports") or []
            if ports and proto not in ("tcp", "udp", "sctp"):
                raise invalid_field("resource.%s[%d].ports" % (field, i), ",".join(ports),
                                    "Ports may only be specified for tcp, udp or sctp.")
            for j, port in enumerate(ports):
                m = _PORT.fullmatch(port)
                if not m or not 0 <= int(m.group(1)) <= 65535 or (
                        m.group(2) and not int(m.group(1)) <= int(m.group(2)) <= 65535):
                    raise invalid_field("resource.%s[%d].ports[%d]" % (field, i, j), port,
                                        "Must be a port number or a range like 1000-2000.")
        for key in ("sourceRanges", "destinationRanges"):
            for j, cidr in enumerate(body.get(key) or []):
                try:
                    ipaddress.ip_network(cidr, strict=False)
                except ValueError:
                    raise invalid_field("resource.%s[%d]" % (key, j), cidr,
                                        "Must be a CIDR address range.")
        for key in ("sourceTags", "targetTags"):
            for j, tag in enumerate(body.get(key) or []):
                if not NAME.fullmatch(tag):
                    raise invalid_field("resource.%s[%d]" % (key, j), tag,
                                        "Must be a match of regex '(?:%s)'" % NAME_RE)
        if direction == "EGRESS" and (body.get("sourceRanges") or body.get("sourceTags")):
            raise invalid("Invalid value for field 'resource': ''. An EGRESS rule cannot have "
                          "sourceRanges or sourceTags.")
        if direction == "INGRESS" and body.get("destinationRanges"):
            raise invalid("Invalid value for field 'resource': ''. An INGRESS rule cannot "
                          "have destinationRanges.")
        return name, network, direction, priority

    def _firewall_resource(self, project, body, fid, created):
        """The stored rule for a checked request body."""
        name, network, direction, priority = self.validate_firewall(project, body)
        fw = {"kind": "compute#firewall", "id": fid, "creationTimestamp": created,
              "name": name}
        if "description" in body:
            fw["description"] = body["description"]
        fw.update({"network": self.link(network), "priority": priority})
        if direction == "INGRESS" and not body.get("sourceTags") and \
                not body.get("sourceServiceAccounts"):
            fw["sourceRanges"] = list(body.get("sourceRanges") or ["0.0.0.0/0"])
        elif body.get("sourceRanges"):
            fw["sourceRanges"] = list(body["sourceRanges"])
        for key in _LIST_FIELDS:
            if body.get(key):
                fw[key] = body[key]
        if direction == "EGRESS" and "destinationRanges" not in fw:
            fw["destinationRanges"] = ["0.0.0.0/0"]
        fw.update({"direction": direction,
                   "logConfig": {"enable": bool((body.get("logConfig") or {})
                                                .get("enable", False))},
                   "disabled": bool(body.get("disabled", False)),
                   "selfLink": self.link("projects/%s/global/firewalls/%s" % (project, name))})
        return fw

    def insert_firewall(self, project, body, query, user):
        self.check_project(project)
        fw = self._firewall_resource(project, body, new_id(), now_rfc3339())
        name = fw["name"]
        rel = "projects/%s/global/firewalls/%s" % (project, name)
        with self.lock:
            rid_key, replay = self._request_id(project, query)
            if replay is not None:
                return dict(replay)
            if (project, name) in self.firewalls:
                raise ApiError(409, "alreadyExists", "The resource '%s' already exists" % rel)
            op = self._new_operation(project, None, "insert", rel, fw["id"], user)
            self._remember(rid_key, op, project, None)
            self._spawn(self._work_global, op, lambda: self.firewalls.__setitem__(
                (project, name), fw))
            return dict(op)

    def _existing_firewall(self, project, name, query):
        """Under self.lock: (requestId key, replayed operation, None) for a replay,
        else (key, None, the rule); 404 when there is no such rule."""
        rid_key, replay = self._request_id(project, query)
        if replay is not None:
            return rid_key, replay, None
        fw = self.firewalls.get((project, name))
        if fw is None or fw.get("_deleting"):
            raise not_found("projects/%s/global/firewalls/%s" % (project, name))
        return rid_key, None, fw

    def patch_firewall(self, project, name, body, query, user):
        """PATCH semantics: fields given replace the stored ones (lists whole)."""
        self.check_project(project)
        rel = "projects/%s/global/firewalls/%s" % (project, name)
        with self.lock:
            rid_key, replay, old = self._existing_firewall(project, name, query)
            if replay is not None:
                return dict(replay)
            if body.get("name", name) != name:
                raise invalid_field("resource.name", body["name"], "The name of a firewall "
                                    "cannot be changed.")
            if body.get("direction", old["direction"]) != old["direction"]:
                raise invalid_field("resource.direction", body["direction"], "The direction "
                                    "of a firewall cannot be changed.")
            merged = {k: v for k, v in old.items() if k in _PATCHABLE}
            merged["network"] = relative(merged["network"])
            if "allowed" in body or "denied" in body:
                merged.pop("allowed", None)
                merged.pop("denied", None)
            if "sourceTags" in body and "sourceRanges" not in body:
                merged.pop("sourceRanges", None)
            merged.update(body)
            fw = self._firewall_resource(project, merged, old["id"], old["creationTimestamp"])
            op = self._new_operation(project, None, "patch", rel, old["id"], user)
            self._remember(rid_key, op, project, None)
            self._spawn(self._work_global, op, lambda: self.firewalls.__setitem__(
                (project, name), fw))
            return dict(op)

    def _work_global(self, op, effect):
        time.sleep(0.05)
        self._op_running(op)
        time.sleep(0.05)
        with self.lock:
            effect()
        self._op_done(op)

    def get_firewall(self, project, name):
        self.check_project(project)
        with self.lock:
            fw = self.firewalls.get((project, name))
            if fw is None:
                raise not_found("projects/%s/global/firewalls/%s" % (project, name))
            return public(fw)

    def list_firewalls(self, project, query):
        self.check_project(project)
        with self.lock:
            items = [public(f) for (p, _), f in sorted(self.firewalls.items()) if p == project]
        items = [i for i in items if matches_filter(i, query.get("filter"))]
        rel = "projects/%s/global/firewalls" % project
        return page(items, query, "compute#firewallList", self.link(rel), rel)

    def delete_firewall(self, project, name, query, user):
        self.check_project(project)
        rel = "projects/%s/global/firewalls/%s" % (project, name)
        with self.lock:
            rid_key, replay, fw = self._existing_firewall(project, name, query)
            if replay is not None:
                return dict(replay)
            fw["_deleting"] = True
            op = self._new_operation(project, None, "delete", rel, fw["id"], user)
            self._remember(rid_key, op, project, None)
            self._spawn(self._work_global, op, lambda: self.firewalls.pop((project, name),
                                                                        None))
            return dict(op)

