#!/usr/bin/env python3
"""Sends QMP commands to a QEMU monitor socket and prints each reply as JSON.

Usage: qmp.py SOCKET COMMAND [COMMAND...]   e.g. qmp.py /tmp/x/qmp.sock query-status
Exit 0 when every command got a "return", 1 on an error reply, 2 when the
socket cannot be reached or the monitor does not answer within the timeout.
"""
import json
import socket
import sys

k_timeout_seconds = 10


def read_message(stream):
    """Returns the next reply or greeting; asynchronous events are skipped."""
    while True:
        line = stream.readline()
        if not line:
            raise ConnectionError("QMP socket closed")
        message = json.loads(line)
        if "event" not in message:
            return message


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(k_timeout_seconds)
        sock.connect(argv[1])
        stream = sock.makefile("rw", encoding="utf-8", newline="\n")
        read_message(stream)  # greeting
        stream.write(json.dumps({"execute": "qmp_capabilities"}) + "\n")
        stream.flush()
        read_message(stream)
        status = 0
        for command in argv[2:]:
            stream.write(json.dumps({"execute": command}) + "\n")
            stream.flush()
            try:
                reply = read_message(stream)
            except ConnectionError:
                if command == "quit":  # QEMU may close before it answers
                    reply = {"return": {}}
                else:
                    raise
            print(json.dumps(reply))
            if "return" not in reply:
                status = 1
        return status
    except (OSError, ConnectionError, ValueError) as error:
        print(f"qmp.py: {argv[1]}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
