#!/usr/bin/env python3
"""Serves a directory (the VM test image and its SHA256SUMS) over HTTP on 127.0.0.1.

Usage: serve_image.py DIR PORT_FILE [BYTES_PER_SECOND]
Binds 127.0.0.1 on a free port, writes the port to PORT_FILE once it listens, and serves
GET/HEAD of the files in DIR (no listing, no Range: a resumed download starts over).
BYTES_PER_SECOND > 0 throttles bodies (a slow server, for Ctrl-C tests). Runs until killed.
"""
import http.server
import os
import sys
import time


class Handler(http.server.SimpleHTTPRequestHandler):
    rate = 0

    def list_directory(self, path):
        self.send_error(404, "no listing")
        return None

    def log_message(self, fmt, *args):
        sys.stderr.write("serve_image: " + (fmt % args) + "\n")

    def copyfile(self, source, outputfile):
        if self.rate <= 0:
            return super().copyfile(source, outputfile)
        chunk = max(1, self.rate // 10)
        while True:
            data = source.read(chunk)
            if not data:
                return
            outputfile.write(data)
            outputfile.flush()
            time.sleep(0.1)


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    directory, port_file = argv[1], argv[2]
    Handler.rate = int(argv[3]) if len(argv) > 3 else 0
    os.chdir(directory)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    tmp = port_file + ".tmp"
    with open(tmp, "w") as out:
        out.write(str(server.server_address[1]) + "\n")
    os.rename(tmp, port_file)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
