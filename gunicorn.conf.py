"""Gunicorn settings for the shop and the sandbox (``gunicorn -c gunicorn.conf.py``), chosen
for slow clients.

gunicorn's threaded worker gives each connection a thread as soon as its first bytes
arrive, and the thread then waits for the rest of the request: a client that sends one
header line every few seconds holds a thread for as long as it likes. With 3 workers x 4
threads, twelve such clients stalled the shop (``/healthz`` and Avarda's callback timed
out). So:

- many threads per worker (they are cheap while they wait on a socket): 3 x 16 = 48 slots,
  far more than the handful of requests the shop actually serves at once;
- idle keep-alive connections wait in the worker's poller, not in a thread (``keepalive``);
- small limits on the request line and headers.

This raises the bar, it does not remove it: **in production put a buffering reverse
proxy in front** (nginx buffers whole requests before passing them on, so gunicorn only
ever sees complete ones). README: "Behind a reverse proxy with HTTPS".
"""

workers = 3
worker_class = "gthread"
threads = 16
#: Seconds an idle keep-alive connection is kept (in the poller, not in a thread).
keepalive = 5
#: A worker that does not report for this long is restarted (a request stuck in a loop).
timeout = 30
graceful_timeout = 5
limit_request_line = 4094
limit_request_fields = 50
limit_request_field_size = 8190
