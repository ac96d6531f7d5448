#!/usr/bin/env python3
"""A tiny machine-learning web app with no requirements beyond Python.

It keeps training samples (x, y) in DATA_DIR/samples.csv and answers
predictions from a least-squares line fitted to them; the fitted model is
written to DATA_DIR/model.json.  Mount a host directory on DATA_DIR
(`sbx run -v ./data:/app/data ...`) and the data outlives the container.

  GET  /                 what this is, and how many samples it has
  POST /samples          add samples: lines "x,y" (or a JSON list of [x, y])
  GET  /predict?x=NUM    {"x": NUM, "y": prediction, "samples": N}
  GET  /model            the fitted model
  GET  /healthz          "ok"
"""

import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

DATA_DIR = os.environ.get("DATA_DIR", "/app/data")
PORT = int(os.environ.get("PORT", "80"))
SAMPLES = os.path.join(DATA_DIR, "samples.csv")
MODEL = os.path.join(DATA_DIR, "model.json")
LOCK = threading.Lock()


def load_samples():
    try:
        with open(SAMPLES, encoding="utf-8") as f:
            rows = [line.split(",") for line in f if line.strip()]
    except FileNotFoundError:
        return []
    return [(float(x), float(y)) for x, y in rows]


def parse_samples(body):
    text = body.decode("utf-8").strip()
    if text.startswith("["):
        return [(float(x), float(y)) for x, y in json.loads(text)]
    return [tuple(float(v) for v in line.split(",")) for line in text.splitlines() if line.strip()]


def fit(samples):
    """Least squares y = slope * x + intercept."""
    n = len(samples)
    if n == 0:
        return {"slope": 0.0, "intercept": 0.0, "samples": 0}
    mx = sum(x for x, _ in samples) / n
    my = sum(y for _, y in samples) / n
    sxx = sum((x - mx) ** 2 for x, _ in samples)
    sxy = sum((x - mx) * (y - my) for x, y in samples)
    slope = sxy / sxx if sxx else 0.0
    return {"slope": slope, "intercept": my - slope * mx, "samples": n}


def save_model(model):
    tmp = MODEL + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(model, f)
        f.write("\n")
    os.replace(tmp, MODEL)


class Handler(BaseHTTPRequestHandler):
    server_version = "ml-app/1"

    def reply(self, code, body, ctype="application/json"):
        if not isinstance(body, (bytes, str)):
            body = json.dumps(body) + "\n"
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urlparse(self.path)
        if url.path == "/":
            with LOCK:
                n = len(load_samples())
            self.reply(200, "ml-app: %d samples in %s\n%s" % (n, DATA_DIR, __doc__), "text/plain")
        elif url.path == "/healthz":
            self.reply(200, "ok\n", "text/plain")
        elif url.path == "/model":
            with LOCK:
                model = fit(load_samples())
            self.reply(200, model)
        elif url.path == "/predict":
            try:
                x = float(parse_qs(url.query)["x"][0])
            except (KeyError, ValueError):
                self.reply(400, {"error": "usage: /predict?x=NUMBER"})
                return
            with LOCK:
                model = fit(load_samples())
            y = model["slope"] * x + model["intercept"]
            self.reply(200, {"x": x, "y": round(y, 6), "samples": model["samples"]})
        else:
            self.reply(404, {"error": "not found"})

    def do_POST(self):
        if urlparse(self.path).path != "/samples":
            self.reply(404, {"error": "not found"})
            return
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            new = parse_samples(body)
        except (ValueError, TypeError):
            self.reply(400, {"error": 'send lines "x,y" or a JSON list of [x, y]'})
            return
        with LOCK:
            with open(SAMPLES, "a", encoding="utf-8") as f:
                f.writelines("%r,%r\n" % s for s in new)
            model = fit(load_samples())
            save_model(model)
        self.reply(200, {"added": len(new), "model": model})


def main():
    os.makedirs(DATA_DIR, exist_ok=True)
    server = ThreadingHTTPServer(("0.0.0.0", PORT), Handler)
    # As PID 1 of the container, SIGTERM would be ignored without a handler.
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print("ml-app: listening on port %d, data in %s" % (PORT, DATA_DIR), file=sys.stderr, flush=True)
    server.serve_forever()
    server.server_close()


if __name__ == "__main__":
    main()
