#!/usr/bin/python3
"""Clients for scripts/bench-http (one subcommand per measurement).

Standard library only, so Debian's /usr/bin/python3 runs it on a fresh
machine. Every socket has a timeout; every result is printed as KEY=VALUE
lines (or a one-line note) that the bash script reads.

  gen ROOT N [BOXES]          writes N Maildir messages straight into
                              ROOT/<box>/{new,cur}, named as mailnest names them
  index T0 PID STDOUT N       polls a mailnest started at T0 until its index
                              lists N messages; times and RSS
  lat PORT REQUESTS N         list latency: first page, a deep cursor page and
                              (if the server takes it) a subject: query
  status PORT PATH            the HTTP status of one GET (SSE streams: the head only)
  sse_latency HTTP SMTP RCPT N  250 -> message.new event latency, one message at a time
  clients PORT SUBS INTERVAL EXPECT STOPFILE
                              SUBS SSE subscribers and a lister every INTERVAL
                              s until STOPFILE exists; counts events
  cmp_lat REQUESTS NAME URL [NAME URL]...
                              servers' latency, requests interleaved
  maildev_total PORT          messages MailDev holds
"""
import http.client
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import time

TIMEOUT = 30.0


def pct(values, p):
    """Nearest-rank percentile of a list (ms)."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


def stats(prefix, values):
    print("%s_n=%d" % (prefix, len(values)))
    for p in (50, 95, 99):
        print("%s_p%d=%.2f" % (prefix, p, pct(values, p)))
    print("%s_max=%.2f" % (prefix, max(values) if values else float("nan")))


# --- gen ---------------------------------------------------------------------
def gen(root, n, boxes=4):
    """N ~1 KiB messages with LF line ends in the format mailnest writes
    (store/maildir_name.h): new/<sec>.M<usec>P<pid>Q<seq>.<host>,S=<size>,W=<wire>,
    cur/ the same plus ":2,S". One message every 2 s back from now, spread
    round-robin over the boxes, every other one already seen (cur/)."""
    names = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"][:boxes]
    for b in names:
        for sub in ("new", "cur", "tmp"):
            os.makedirs(os.path.join(root, b, sub), exist_ok=True)
    body = "".join("%02dXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX\n" % i for i in range(14))
    now = int(time.time())
    pid = 4242
    for i in range(n):
        box = names[i % len(names)]
        secs = now - 2 * (n - i)
        msg = ("Return-Path: <sender%d@example.test>\n"
               "Received: from client.example.test by mailnest.local; %s\n"
               "From: Sender %d <sender%d@example.test>\n"
               "To: %s@localhost\n"
               "Subject: msg-%07d bench message\n"
               "Date: %s\n"
               "Message-ID: <%d.%d@example.test>\n"
               "\n%s") % (i % 97, time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(secs)), i % 97,
                          i % 97, box, i, time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(secs)),
                          secs, i, body)
        data = msg.encode()
        wire = len(data) + data.count(b"\n")
        base = "%d.M%dP%dQ%d.bench.example,S=%d,W=%d" % (secs, (i * 7919) % 1000000, pid, i, len(data), wire)
        if (i // len(names)) % 2:
            path = os.path.join(root, box, "cur", base + ":2,S")
        else:
            path = os.path.join(root, box, "new", base)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, data)
        os.close(fd)
    print("generated=%d boxes=%d" % (n, len(names)))


# --- HTTP helpers ------------------------------------------------------------
def conn(port):
    return http.client.HTTPConnection("127.0.0.1", int(port), timeout=TIMEOUT)


def get(c, path):
    """(status, body bytes, ms) of one GET over keep-alive connection c."""
    t0 = time.perf_counter()
    c.request("GET", path)
    r = c.getresponse()
    body = r.read()
    return r.status, body, (time.perf_counter() - t0) * 1000.0


def status(port, path):
    """Status of one GET; only the head is read (an SSE stream never ends)."""
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=5)
    s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\nConnection: close\r\n\r\n"
               % path).encode())
    head = b""
    while b"\r\n" not in head:
        chunk = s.recv(4096)
        if not chunk:
            break
        head += chunk
    s.close()
    try:
        print(int(head.split(b" ", 2)[1]))
    except (IndexError, ValueError):
        print(0)


# --- index -------------------------------------------------------------------
def rss_kib(pid):
    out = {}
    with open("/proc/%s/status" % pid) as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                out[line.split(":")[0]] = int(line.split()[1])
    return out.get("VmRSS", 0), out.get("VmHWM", 0)


def index(t0, pid, stdout_path, n, limit_s=120.0):
    """Times from T0 (the shell's clock just before it started the process):
    the ready line (listeners bound; the index builds after it), /readyz 200
    (the index's first scan is done) and /api/v1/mailboxes summing to N."""
    t0, n = float(t0), int(n)
    deadline = time.time() + limit_s
    port = None
    while port is None:
        if time.time() > deadline or not os.path.exists("/proc/%s" % pid):
            sys.exit("index: no ready line")
        try:  # the shell creates the file in the child, after the fork
            with open(stdout_path) as f:
                for line in f:
                    if line.startswith("mailnest ready") and " http=" in line:
                        port = int(line.split(" http=")[1].split()[0].rsplit(":", 1)[1])
        except FileNotFoundError:
            pass
        if port is None:
            time.sleep(0.002)
    t_line = time.time() - t0
    c = conn(port)
    while True:
        st, _, _ = get(c, "/readyz")
        if st == 200:
            break
        if time.time() > deadline:
            sys.exit("index: /readyz not 200 within %d s" % limit_s)
        time.sleep(0.002)
    t_ready = time.time() - t0
    while True:
        st, body, _ = get(c, "/api/v1/mailboxes")
        total = sum(b["messages"] for b in json.loads(body)["mailboxes"]) if st == 200 else -1
        if total == n:
            break
        if time.time() > deadline:
            sys.exit("index: mailboxes list %d messages, expected %d" % (total, n))
        time.sleep(0.002)
    t_all = time.time() - t0
    rss, hwm = rss_kib(pid)
    print("http_port=%d" % port)
    print("ready_line_s=%.3f\nreadyz_s=%.3f\nall_listed_s=%.3f" % (t_line, t_ready, t_all))
    print("rss_kib=%d\nhwm_kib=%d\nlisted=%d" % (rss, hwm, total))


# --- lat ---------------------------------------------------------------------
def lat(port, requests, n):
    """REQUESTS GETs of each kind over one keep-alive connection, the kinds
    interleaved request by request so drift hits all alike."""
    requests, n = int(requests), int(n)
    c = conn(port)
    # A deep cursor: walk pages of 1000 (the default max_list_limit) to the middle.
    cursor, seen = None, 0
    while seen < n // 2:
        st, body, _ = get(c, "/api/v1/messages?limit=1000" + ("&cursor=" + cursor if cursor else ""))
        if st != 200:
            sys.exit("lat: listing answered %d: %s" % (st, body[:200]))
        page = json.loads(body)
        seen += len(page["messages"])
        cursor = page.get("next_cursor")
        if not cursor:
            break
    kinds = [("first", "/api/v1/messages?limit=50"), ("deep", "/api/v1/messages?limit=50&cursor=" + cursor)]
    # Search: only if the server takes query= (a 400 means it does not yet).
    q = "/api/v1/messages?limit=50&query=subject:msg-%07d" % (n // 3)
    st, body, ms = get(c, q)
    if st == 200:
        print("query_first_ms=%.2f" % ms)
        print("query_matches=%d" % len(json.loads(body).get("messages", [])))
        kinds.append(("query", q))
    else:
        print("query_status=%d" % st)
        print("query_note=%s" % body.decode(errors="replace").strip().replace("\n", " ")[:160])
    times = {k: [] for k, _ in kinds}
    for _ in range(requests):
        for k, path in kinds:
            st, body, ms = get(c, path)
            if st != 200:
                sys.exit("lat: %s answered %d" % (path, st))
            times[k].append(ms)
    if len(json.loads(body)["messages"]) == 0 and kinds[-1][0] != "query":
        sys.exit("lat: empty page")
    for k, _ in kinds:
        stats(k, times[k])


def cmp_lat(requests, *pairs):
    """Servers' latency for one URL each (NAME URL pairs), one request of
    each in turn, the order rotating, so drift hits all alike."""
    import urllib.parse
    names, ends = pairs[0::2], []
    for url in pairs[1::2]:
        u = urllib.parse.urlsplit(url)
        ends.append((conn(u.port), u.path + ("?" + u.query if u.query else "")))
    times = [[] for _ in ends]
    sizes = [0] * len(ends)
    for i in range(int(requests)):
        for k in range(len(ends)):
            j = (i + k) % len(ends)
            st, body, ms = get(*ends[j])
            if st != 200:
                sys.exit("cmp_lat: %s answered %d" % (pairs[2 * j + 1], st))
            times[j].append(ms)
            sizes[j] = len(body)
    for j, name in enumerate(names):
        stats(name, times[j])
        print("%s_bytes=%d" % (name, sizes[j]))


def maildev_total(port):
    c = conn(port)
    st, body, _ = get(c, "/api/email/summary?limit=1")
    print(json.loads(body)["storeTotal"] if st == 200 else -1)


# --- SSE ---------------------------------------------------------------------
class SseStream:
    """One GET /api/v1/events subscriber over a raw socket: the format is
    `id: N\\nevent: TYPE\\ndata: JSON\\n\\n` (a chunked HTTP/1.1 body or a
    close-delimited one: both handled by scanning for the blank line after
    the chunk framing is removed)."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", int(port)), timeout=TIMEOUT)
        self.sock.sendall(b"GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          b"Accept: text/event-stream\r\n\r\n")
        self.raw = b""
        self.chunked = None
        self.text = b""
        self.closed = False
        self.new_events = 0
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("events: closed before the head")
            head += chunk
        head, rest = head.split(b"\r\n\r\n", 1)
        lines = head.split(b"\r\n")
        self.status = int(lines[0].split(b" ", 2)[1])
        self.chunked = any(l.lower().startswith(b"transfer-encoding:") and b"chunked" in l.lower() for l in lines)
        self.raw = rest
        self.sock.setblocking(False)

    def _unchunk(self):
        if not self.chunked:
            self.text += self.raw.replace(b"\r\n", b"\n")  # SSE allows CR LF line ends too
            self.raw = b""
            return
        pos, out = 0, []  # an index, not slicing: one recv may hold thousands of chunks
        while True:
            nl = self.raw.find(b"\r\n", pos)
            if nl < 0:
                break
            size = int(self.raw[pos:nl].split(b";")[0] or b"0", 16)
            if len(self.raw) < nl + 2 + size + 2:
                break
            out.append(self.raw[nl + 2:nl + 2 + size])
            pos = nl + 4 + size
            if size == 0:
                self.closed = True
                break
        self.raw = self.raw[pos:]
        self.text += b"".join(out).replace(b"\r\n", b"\n")

    NEW = b"\nevent: message.new\n"

    def count(self):
        """Reads what is there and only counts message.new events: the
        cheap reader of the intake-under-subscribers run, so the client's
        parsing takes as little as possible of the two vCPUs it shares with
        the server. (Every event arrives `id: N\\nevent: TYPE\\n...`, so the
        type line always follows a newline.)"""
        try:
            chunk = self.sock.recv(1 << 20)
        except BlockingIOError:
            return
        if chunk == b"":
            self.closed = True
            return
        self.raw += chunk
        self._unchunk()
        self.new_events += self.text.count(self.NEW)
        self.text = self.text[-(len(self.NEW) - 1):]  # a type line split between reads

    def read(self):
        """Reads what is there; returns the complete events as (type, data)."""
        try:
            chunk = self.sock.recv(1 << 20)
        except BlockingIOError:
            chunk = None
        if chunk == b"":
            self.closed = True
        elif chunk:
            self.raw += chunk
            self._unchunk()
        events = []
        blocks = self.text.split(b"\n\n")
        self.text = blocks.pop()  # an event not complete yet
        for block in blocks:
            etype, data = b"message", b""
            for line in block.split(b"\n"):
                if line.startswith(b"event:"):
                    etype = line[6:].strip()
                elif line.startswith(b"data:"):
                    data += line[5:].strip()
            if etype == b"message.new":
                self.new_events += 1
            events.append((etype, data))
        return events


def smtp_reply(f):
    """One complete SMTP reply (last line has a space after the code)."""
    while True:
        line = f.readline()
        if not line:
            raise ConnectionError("smtp: closed")
        if len(line) < 4 or line[3:4] != b"-":
            return line


def sse_latency(http_port, smtp_port, rcpt, n):
    """One SMTP session sends N messages one at a time; for each, the time
    from reading its 250 to reading its message.new event (negative when
    the event came first). One selector watches both sockets."""
    n = int(n)
    mailbox = rcpt.split("@")[0]
    ev = SseStream(http_port)
    if ev.status != 200:
        print("sse_status=%d" % ev.status)
        return
    s = socket.create_connection(("127.0.0.1", int(smtp_port)), timeout=TIMEOUT)
    f = s.makefile("rb")
    smtp_reply(f)
    s.sendall(b"EHLO bench.example\r\n")
    smtp_reply(f)
    sel = selectors.DefaultSelector()
    sel.register(ev.sock, selectors.EVENT_READ, "ev")
    body = b"".join(b"%02dXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX\r\n" % i for i in range(14))
    lats, missing = [], 0
    time.sleep(0.2)
    ev.read()  # whatever the stream sent on connect (e.g. stats)
    for i in range(n):
        s.sendall(b"MAIL FROM:<bench@example.test>\r\nRCPT TO:<%s>\r\nDATA\r\n" % rcpt.encode())
        for _ in range(3):
            r = smtp_reply(f)
        if not r.startswith(b"354"):
            sys.exit("sse_latency: DATA answered %r" % r)
        s.sendall(b"Subject: sse %d\r\n\r\n%s.\r\n" % (i, body))
        # The 250 is read on a helper-free path: the SMTP socket is blocking,
        # so poll the event socket first, then wait for the 250 with a
        # selector on both.
        t_250 = t_ev = None
        sel.register(s, selectors.EVENT_READ, "smtp")
        deadline = time.perf_counter() + 5.0
        while (t_250 is None or t_ev is None) and time.perf_counter() < deadline:
            for key, _ in sel.select(timeout=0.5):
                now = time.perf_counter()
                if key.data == "smtp" and t_250 is None:
                    r = smtp_reply(f)
                    t_250 = now
                    if not r.startswith(b"250"):
                        sys.exit("sse_latency: message %d answered %r" % (i, r))
                    sel.unregister(s)
                elif key.data == "ev":
                    for etype, data in ev.read():
                        if etype == b"message.new" and t_ev is None:
                            try:
                                if json.loads(data).get("mailbox") == mailbox:
                                    t_ev = now
                            except ValueError:
                                pass
        if t_250 is None:
            sys.exit("sse_latency: no 250 within 5 s")
        if t_ev is None:
            missing += 1
        else:
            lats.append((t_ev - t_250) * 1000.0)
    s.sendall(b"QUIT\r\n")
    s.close()
    print("sse_missing=%d" % missing)
    print("sse_before_250=%d" % sum(1 for x in lats if x < 0))
    stats("sse", lats)


def clients(port, subs, interval, expect, stopfile, types=""):
    """SUBS SSE subscribers plus one lister (GET /api/v1/messages?limit=50
    every INTERVAL s) until STOPFILE exists, then 1 s more for the last
    events; prints the fewest and most message.new events a subscriber saw
    (EXPECT is what each should see). SUBS=0: the lister only.
    TYPES: the subscribers' types= (default: every type).

    Each subscriber is `curl -sN` piped into
    `grep -c '^event: message.new'`: a reader that costs the shared two vCPUs
    little, where a Python parser of ten streams took as much CPU as the
    server it measured. A subscriber the server drops ends its curl early."""
    subs, interval, expect = int(subs), float(interval), int(expect)
    url = "http://127.0.0.1:%s/api/v1/events" % port + ("?types=" + types if types else "")
    procs, greps = [], []
    for _ in range(subs):
        curl = subprocess.Popen(["curl", "-sN", "--max-time", "3600", "-H", "Accept: text/event-stream", url],
                                stdout=subprocess.PIPE)
        greps.append(subprocess.Popen(["grep", "-c", "^event: message.new$"], stdin=curl.stdout,
                                      stdout=subprocess.PIPE, text=True))
        curl.stdout.close()  # grep holds the pipe now
        procs.append(curl)
    # Ready once the server counts them all (a curl that failed exits).
    deadline = time.perf_counter() + 10
    lister = conn(port)
    while True:
        st, body, _ = get(lister, "/api/v1/stats")
        if st == 200 and json.loads(body).get("http", {}).get("subscribers", 0) >= subs:
            break
        if time.perf_counter() > deadline or any(p.poll() is not None for p in procs):
            sys.exit("clients: subscribers did not all connect")
        time.sleep(0.05)
    list_ms = []
    next_list = time.perf_counter()
    print("clients ready", file=sys.stderr, flush=True)
    while not os.path.exists(stopfile):
        now = time.perf_counter()
        if now >= next_list:
            st, _, ms = get(lister, "/api/v1/messages?limit=50")
            if st != 200:
                sys.exit("clients: listing answered %d" % st)
            list_ms.append(ms)
            next_list += interval
        time.sleep(max(0.0, min(0.01, next_list - time.perf_counter())))
    # The last events are written within http.event_flush_ms; give slow
    # readers a moment, then end the streams and read the counts.
    time.sleep(1.0)
    closed = sum(1 for p in procs if p.poll() is not None)
    counts = []
    for p, g in zip(procs, greps):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
        p.wait(timeout=10)
        out, _ = g.communicate(timeout=10)
        counts.append(int(out.strip() or 0))
    print("subs=%d" % subs)
    print("events_min=%d\nevents_max=%d" % (min(counts) if counts else 0, max(counts) if counts else 0))
    print("subs_closed=%d" % closed)
    stats("list", list_ms)


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    fn = {"gen": lambda: gen(args[0], int(args[1]), int(args[2]) if len(args) > 2 else 4),
          "index": lambda: index(*args),
          "lat": lambda: lat(*args),
          "status": lambda: status(*args),
          "sse_latency": lambda: sse_latency(*args),
          "clients": lambda: clients(*args),
          "cmp_lat": lambda: cmp_lat(*args),
          "maildev_total": lambda: maildev_total(*args)}.get(cmd)
    if fn is None:
        sys.exit("bench_http.py: unknown subcommand %s" % cmd)
    fn()


if __name__ == "__main__":
    main()
