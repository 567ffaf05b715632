#!/usr/bin/env python3
"""A misbehaving HTTP proxy in front of the test registry, for tests/import/.

Forwards every request to --upstream (127.0.0.1 only) and, for blob GETs
(/v2/<name>/blobs/sha256:...), misbehaves as told:
  --fail-blobs N      answer 503 to the first N requests of each blob
  --cut-blobs BYTES   the first request of each blob (without Range) sends the full
                      Content-Length but only BYTES bytes, then closes the connection
  --stall-blobs S     the first request of each blob sends half, then stalls S seconds
  --ignore-range      drop Range headers (the upstream then answers 200 with everything)
  --redirect-blobs    answer 307 to /redirected/<path>, which is then served
  --delay-blobs S     wait S seconds before answering each blob request
  --trickle-blobs S   every request of each blob sends its headers (the full
                      Content-Length), then one byte every S seconds
Writes the port it listens on to --port-file and one JSON line per request to --log
(path, range, status, how many blob requests were in flight).
"""
import argparse
import http.client
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

args = None
lock = threading.Lock()
seen = {}  # blob path -> requests so far
inflight = 0


def log(entry):
    entry["time"] = round(time.time(), 3)
    with lock, open(args.log, "a") as f:
        f.write(json.dumps(entry) + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_GET(self):
        global inflight
        path = self.path
        if path.startswith("/redirected/"):
            path = path[len("/redirected"):]
        is_blob = "/blobs/sha256:" in path
        if not is_blob:
            return self.forward(path, set())
        with lock:
            count = seen.get(path, 0) + 1
            seen[path] = count
            inflight += 1
            now_inflight = inflight
        try:
            self.blob(path, count, now_inflight)
        finally:
            with lock:
                inflight -= 1

    def blob(self, path, count, now_inflight):
        rng = self.headers.get("Range")
        entry = {"path": path, "range": rng, "request": count, "inflight": now_inflight}
        if args.delay_blobs:
            time.sleep(args.delay_blobs)
        if count <= args.fail_blobs:
            entry["status"] = 503
            log(entry)
            return self.reply(503, b'{"errors":[{"code":"UNAVAILABLE","message":"try again"}]}')
        if args.redirect_blobs and not self.path.startswith("/redirected/"):
            entry["status"] = 307
            log(entry)
            self.send_response(307)
            self.send_header("Location", "/redirected" + path)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        drop = {"range"} if args.ignore_range else set()
        status, headers, body = self.fetch(path, drop)
        entry["status"] = status
        log(entry)
        first_full = count == args.fail_blobs + 1 and rng is None
        if args.cut_blobs is not None and first_full and status == 200:
            return self.send(status, headers, body[: args.cut_blobs], close=True)
        if args.trickle_blobs and status in (200, 206):
            return self.trickle(status, headers, body)
        if args.stall_blobs and first_full and status == 200:
            self.send_headers(status, headers)
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            time.sleep(args.stall_blobs)
            self.close_connection = True
            return
        self.send(status, headers, body)

    def fetch(self, path, drop):
        conn = http.client.HTTPConnection(args.upstream, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in drop | {"host", "connection"}}
        conn.request("GET", path, headers=headers)
        r = conn.getresponse()
        body = r.read()
        out = [(k, v) for k, v in r.getheaders() if k.lower() not in ("connection", "transfer-encoding", "content-length")]
        conn.close()
        return r.status, out + [("Content-Length", str(len(body)))], body

    def forward(self, path, drop):
        status, headers, body = self.fetch(path, drop)
        log({"path": path, "range": self.headers.get("Range"), "status": status})
        self.send(status, headers, body)

    def trickle(self, status, headers, body):
        self.send_headers(status, headers)
        try:
            for i in range(len(body)):
                self.wfile.write(body[i : i + 1])
                self.wfile.flush()
                time.sleep(args.trickle_blobs)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up, as it should
        self.close_connection = True

    def send_headers(self, status, headers):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()

    def send(self, status, headers, body, close=False):
        self.send_headers(status, headers)
        self.wfile.write(body)
        self.wfile.flush()
        if close:
            self.close_connection = True

    def reply(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main():
    global args
    p = argparse.ArgumentParser()
    p.add_argument("--upstream", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--fail-blobs", type=int, default=0)
    p.add_argument("--cut-blobs", type=int)
    p.add_argument("--stall-blobs", type=float, default=0)
    p.add_argument("--ignore-range", action="store_true")
    p.add_argument("--redirect-blobs", action="store_true")
    p.add_argument("--delay-blobs", type=float, default=0)
    p.add_argument("--trickle-blobs", type=float, default=0)
    args = p.parse_args()
    if not args.upstream.startswith("127.0.0.1:"):
        raise SystemExit("faultproxy: the upstream must be on 127.0.0.1")
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(args.port_file + ".tmp", args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
