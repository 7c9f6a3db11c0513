"""Checks real HTTP answers against the OpenAPI 3 document mailnest serves
(src/http/openapi.json), with python3-jsonschema only: Debian has no
openapi-schema-validator, so $refs are resolved here and OpenAPI 3.0's
schema dialect (nullable) is turned into JSON Schema.

    api = OpenApi.load()                       # the source file
    r = api.request(port, "GET", "/api/v1/mailboxes")   # request + check
    api.check("GET", "/api/v1/mailboxes", r)  # or check a response you have

A check fails (AssertionError naming the request) when the path and method
are not in the document, the status is not documented for them, the
Content-Type is not one the response lists (a range like */* in the document
admits any), or the body does not match its schema. A text/event-stream
answer never ends: request() reads its head only, and check() validates its
status and Content-Type, not its body. api.unchecked() lists the documented operations no check has used
yet, so a test can insist that every endpoint was exercised.
"""
import copy
import http.client
import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema

from http_client import Response

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "src" / "http" / "openapi.json"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class OpenApi:
    def __init__(self, doc):
        self.doc = doc
        self.seen = set()  # (template, method, status)

    @classmethod
    def load(cls, path=DOCUMENT):
        return cls(json.loads(Path(path).read_text()))

    # --- the document itself -------------------------------------------------
    def ref(self, pointer):
        assert pointer.startswith("#/"), f"only local $refs are supported: {pointer}"
        node = self.doc
        for part in pointer[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            assert isinstance(node, dict) and part in node, f"unresolvable $ref {pointer}"
            node = node[part]
        return node

    def resolve(self, node, depth=0):
        """node with every $ref replaced by what it points at (recursively)."""
        assert depth < 200, "$ref cycle"
        if isinstance(node, dict):
            if "$ref" in node:
                return self.resolve(self.ref(node["$ref"]), depth + 1)
            return {k: self.resolve(v, depth + 1) for k, v in node.items()}
        if isinstance(node, list):
            return [self.resolve(v, depth + 1) for v in node]
        return node

    def problems(self):
        """What makes the document not well-formed OpenAPI 3 (empty = fine)."""
        out = []
        d = self.doc
        if not str(d.get("openapi", "")).startswith("3."):
            out.append("openapi: must be a 3.x version string")
        info = d.get("info")
        if not isinstance(info, dict) or not info.get("title") or not info.get("version"):
            out.append("info: needs title and version")
        paths = d.get("paths")
        if not isinstance(paths, dict) or not paths:
            return out + ["paths: must be a non-empty object"]
        try:
            self.resolve(d)
        except AssertionError as e:
            out.append(str(e))
            return out
        for template, item in paths.items():
            if not template.startswith("/"):
                out.append(f"{template}: a path must start with /")
            ops = {m: op for m, op in item.items() if m in METHODS}
            if not ops:
                out.append(f"{template}: no operation")
            declared = set(re.findall(r"{([^}]+)}", template))
            for m, op in ops.items():
                op = self.resolve(op)
                responses = op.get("responses")
                if not isinstance(responses, dict) or not responses:
                    out.append(f"{m.upper()} {template}: no responses")
                    continue
                for status, resp in responses.items():
                    if not re.fullmatch(r"[1-5](\d\d|XX)|default", status):
                        out.append(f"{m.upper()} {template}: bad status key {status}")
                    if "description" not in resp:
                        out.append(f"{m.upper()} {template} {status}: no description")
                params = [self.resolve(p) for p in item.get("parameters", []) + op.get("parameters", [])]
                in_path = {p["name"] for p in params if p.get("in") == "path"}
                if in_path != declared:
                    out.append(f"{m.upper()} {template}: path parameters {sorted(in_path)} != {sorted(declared)}")
                for p in params:
                    if p.get("in") == "path" and p.get("required") is not True:
                        out.append(f"{m.upper()} {template}: path parameter {p.get('name')} must be required")
        return out

    # --- matching a request --------------------------------------------------
    def template_for(self, path):
        for template in self.doc["paths"]:
            pattern = "^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(template)) + "$"
            if re.match(pattern, path):
                return template
        return None

    def check(self, method, target, response):
        where = f"{method} {target} → {response.status}"
        path = urlsplit(target).path
        template = self.template_for(path)
        assert template, f"{where}: path not in the OpenAPI document"
        m = "get" if method.upper() == "HEAD" else method.lower()
        op = self.doc["paths"][template].get(m)
        assert op is not None, f"{where}: method not documented for {template}"
        op = self.resolve(op)
        responses = op["responses"]
        status = str(response.status)
        key = status if status in responses else status[0] + "XX" if status[0] + "XX" in responses else "default"
        assert key in responses, f"{where}: status not documented (has {sorted(responses)})"
        self.seen.add((template, m, status))
        content = responses[key].get("content")
        if not content:
            assert not response.body, f"{where}: a body where the document says none"
            return
        ctype = response.headers.get("content-type", "").split(";")[0].strip().lower()
        media = next((k for k in (ctype, ctype.split("/")[0] + "/*", "*/*") if ctype and k in content), None)
        assert media, f"{where}: Content-Type {ctype!r} not documented (has {sorted(content)})"
        schema = content[media].get("schema")
        if schema is None or method.upper() == "HEAD" or ctype == "text/event-stream":
            return  # a stream does not end: its head is what can be checked
        if ctype == "application/json" or ctype.endswith("+json"):
            body = json.loads(response.body)
        elif schema.get("format") == "binary":
            return  # any octets
        else:
            body = response.body.decode("utf-8")
        try:
            jsonschema.Draft7Validator(to_json_schema(schema)).validate(body)
        except jsonschema.ValidationError as e:
            raise AssertionError(f"{where}: body does not match the schema: {e.message} at {list(e.absolute_path)}")

    def request(self, port, method, target, headers=None, timeout=10):
        """Sends the request and checks its answer (as http_client.get, but
        the body of a text/event-stream answer is not read: it never ends)."""
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        try:
            conn.request(method, target, headers=headers or {})
            resp = conn.getresponse()
            hdrs = {k.lower(): v for k, v in resp.getheaders()}
            stream = hdrs.get("content-type", "").split(";")[0].strip().lower() == "text/event-stream"
            r = Response(resp.status, hdrs, b"" if stream else resp.read())
        finally:
            conn.close()
        self.check(method, target, r)
        return r

    def unchecked(self):
        """Documented (path, method) pairs no check has seen yet."""
        done = {(t, m) for t, m, _ in self.seen}
        return sorted((t, m) for t, item in self.doc["paths"].items() for m in item
                      if m in METHODS and (t, m) not in done)


def to_json_schema(schema):
    """OpenAPI 3.0 schema object → JSON Schema (draft 7): nullable becomes a
    type list, or, on a schema without a type (nullable + allOf, how 3.0
    says "this $ref or null"), anyOf that schema or null. Other OpenAPI-only
    keywords are ignored by the validator."""
    s = copy.deepcopy(schema)

    def walk(node):
        if isinstance(node, dict):
            if node.get("nullable") is True:
                del node["nullable"]
                t = node.get("type")
                if isinstance(t, str):
                    node["type"] = [t, "null"]
                elif t is None:
                    rest = {k: node.pop(k) for k in list(node)}
                    node["anyOf"] = [rest, {"type": "null"}]
                if "enum" in node:
                    node["enum"] = list(node["enum"]) + [None]
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(s)
    return s
