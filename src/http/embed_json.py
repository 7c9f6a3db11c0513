#!/usr/bin/env python3
"""Build step: embeds a JSON document (src/http/openapi.json, the one source
of truth) into a .cc as a string_view. Fails the build when it is not JSON."""
import json
import sys

src, out, name = sys.argv[1], sys.argv[2], sys.argv[3]
text = open(src, encoding="utf-8").read()
json.loads(text)  # a malformed document fails the build, not a test run later
delim = "mn_json"
if f"){delim}\"" in text:
    sys.exit(f"{src}: contains the raw string delimiter )" + delim)
with open(out, "w", encoding="utf-8") as f:
    f.write("// Generated from " + src.split("/")[-1] + " by embed_json.py: edit that file, not this one.\n")
    f.write("#include <string_view>\n\nnamespace mailnest {\n\n")
    f.write(f"extern const std::string_view {name};\n")
    f.write(f"const std::string_view {name} = R\"{delim}({text}){delim}\";\n\n")
    f.write("}  // namespace mailnest\n")
