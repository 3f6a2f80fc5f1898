#!/usr/bin/env bash
# Serves the cached VM test image directory (disk.qcow2, disk.raw, SHA256SUMS) on
# 127.0.0.1 at a free port, in the background. Source it, then:
#   serve_image_start DIR [BYTES_PER_SECOND]   # sets SERVE_PID and SERVE_PORT
#   serve_image_stop                           # kills that server (by its PID)
here_serve=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
serve_image_start() {
  local dir=$1 rate=${2:-0} port_file
  port_file=$(mktemp -u /tmp/dm-serve-port.XXXXXX)
  python3 "$here_serve/serve_image.py" "$dir" "$port_file" "$rate" 2>/dev/null &
  SERVE_PID=$!
  local i
  for i in $(seq 1 100); do
    [ -s "$port_file" ] && break
    sleep 0.1
  done
  SERVE_PORT=$(cat "$port_file" 2>/dev/null)
  rm -f "$port_file"
  [ -n "$SERVE_PORT" ] || { kill "$SERVE_PID" 2>/dev/null; return 1; }
}
serve_image_stop() {
  [ -z "${SERVE_PID:-}" ] || { kill "$SERVE_PID" 2>/dev/null; wait "$SERVE_PID" 2>/dev/null; }
  SERVE_PID=""
}
