"""A tiny HTTP/1.1 client for the API tests (http.client: nothing mocked)."""
import http.client
import json


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-case name → value
        self.body = body

    def json(self):
        return json.loads(self.body)


def get(port, target, method="GET", headers=None, timeout=10, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, target, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
    finally:
        conn.close()
