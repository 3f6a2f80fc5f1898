#!/usr/bin/python3
"""Command-line client of a running EC2 emulator, for shell test suites.

    ec2emu_ctl.py --port-file F stats [ACTION]     JSON counters, or ACTION's call count
    ec2emu_ctl.py --port-file F state              JSON state dump
    ec2emu_ctl.py --port-file F check-empty        exit 1 (and say what) unless no live
                                                   instance, key pair, non-default group
                                                   or host is left
    ec2emu_ctl.py --port-file F inject ACTION CODE COUNT
    ec2emu_ctl.py --port-file F reset | purge | wait-idle [SECONDS]
    ec2emu_ctl.py --port-file F --credentials C call ACTION [Name=Value ...]
                                                   a signed call; prints the XML answer,
                                                   exit 1 on an EC2 error
"""

import argparse
import http.client
import json
import os
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import sigv4  # noqa: E402


def control(port, method, path, data=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = json.dumps(data).encode() if data is not None else None
    conn.request(method, path, body, {"Content-Type": "application/json"} if body else {})
    response = conn.getresponse()
    answer = json.loads(response.read())
    conn.close()
    if response.status != 200:
        raise SystemExit("emulator: %s %s -> %d %s" % (method, path, response.status, answer))
    return answer


def leftovers(state):
    out = ["instance %s (%s)" % (i["id"], i["state"]) for i in state["instances"]
           if i["state"] != "terminated"]
    out += ["key pair %s" % k["name"] for k in state["key_pairs"]]
    out += ["security group %s (%s)" % (g["id"], g["name"]) for g in state["security_groups"]
            if g["name"] != "default"]
    out += ["host %s" % h for h in state["hosts"]]
    return out


def signed_call(port, creds_file, region, action, pairs):
    with open(creds_file, encoding="utf-8") as f:
        key, entry = next(iter(json.load(f).items()))
    if isinstance(entry, str):
        entry = {"secret": entry}
    body = urllib.parse.urlencode([("Action", action), ("Version", "2016-11-15")] + pairs).encode()
    headers = [("Host", "127.0.0.1:%d" % port),
               ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")]
    headers = sigv4.sign("POST", "/", "", headers, body, key, entry["secret"], region, "ec2",
                         time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()),
                         session_token=entry.get("session_token"))
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.putrequest("POST", "/", skip_host=True, skip_accept_encoding=True)
    for name, value in headers + [("Content-Length", str(len(body)))]:
        conn.putheader(name, value)
    conn.endheaders(body)
    response = conn.getresponse()
    text = response.read().decode()
    conn.close()
    return response.status, text


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--port-file")
    p.add_argument("--port", type=int)
    p.add_argument("--credentials", help="the emulator's credentials file (first key is used)")
    p.add_argument("--region", default="us-east-1")
    p.add_argument("command")
    p.add_argument("args", nargs="*")
    a = p.parse_args()
    port = a.port
    if port is None:
        if not a.port_file:
            p.error("give --port or --port-file")
        with open(a.port_file, encoding="utf-8") as f:
            port = int(f.read())
    if a.command == "stats":
        stats = control(port, "GET", "/_emulator/stats")
        print(stats["calls"].get(a.args[0], 0) if a.args else json.dumps(stats, indent=1))
    elif a.command == "state":
        print(json.dumps(control(port, "GET", "/_emulator/state"), indent=1))
    elif a.command == "check-empty":
        left = leftovers(control(port, "GET", "/_emulator/state"))
        for item in left:
            print("left in the emulator: " + item)
        return 1 if left else 0
    elif a.command == "inject":
        action, code, count = a.args
        control(port, "POST", "/_emulator/inject",
                {"action": action, "code": code, "count": int(count)})
    elif a.command == "reset":
        control(port, "POST", "/_emulator/stats/reset", {})
    elif a.command == "purge":
        control(port, "POST", "/_emulator/purge-terminated", {})
    elif a.command == "wait-idle":
        deadline = time.time() + float(a.args[0] if a.args else 600)
        while control(port, "GET", "/_emulator/state")["busy"]:
            if time.time() > deadline:
                print("emulator still busy", file=sys.stderr)
                return 1
            time.sleep(0.5)
    elif a.command == "call":
        if not a.credentials or not a.args:
            p.error("call needs --credentials and an ACTION")
        pairs = [tuple(x.split("=", 1)) for x in a.args[1:]]
        status, text = signed_call(port, a.credentials, a.region, a.args[0], pairs)
        print(text)
        return 0 if status == 200 else 1
    else:
        p.error("unknown command %s" % a.command)
    return 0


if __name__ == "__main__":
    sys.exit(main())
