#!/usr/bin/env python3
"""Checks every message and field of the .proto files here against upstream Kubernetes.

A wrong field number silently corrupts data, so this compares number, label, type and type name
of each field with the descriptors a Kubernetes Go binary carries: gogo-generated code embeds
every generated.proto as a gzipped FileDescriptorProto, so kubectl itself is the reference.

  python3 src/api/proto/check_upstream.py "$(readlink -f "$(command -v kubectl)")"

Needs protoc and google/protobuf/descriptor.proto (protobuf-compiler, libprotobuf-dev).
Exit status 0 when every field matches; the mismatches are printed otherwise.
"""
import glob
import os
import re
import subprocess
import sys
import tempfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
INCLUDE = "/usr/include"


def decode(blob, type_name):
    return subprocess.run(
        ["protoc", "-I" + INCLUDE, "--decode=" + type_name, "google/protobuf/descriptor.proto"],
        input=blob, capture_output=True, check=True).stdout.decode()


def parse(text):
    """A small protobuf text-format parser: a list of (key, scalar | nested list)."""
    toks = re.findall(r'"(?:[^"\\]|\\.)*"|[{}:]|[^\s{}:"]+', text)
    pos = 0

    def block():
        nonlocal pos
        out = []
        while pos < len(toks) and toks[pos] != "}":
            key = toks[pos]
            pos += 1
            if toks[pos] == ":":
                out.append((key, toks[pos + 1]))
                pos += 2
            else:  # "{"
                pos += 1
                out.append((key, block()))
                pos += 1
        return out

    return block()


def get(block, key):
    return [v for k, v in block if k == key]


def messages(fd):
    """{full message name: {field name: (number, label, type, type_name)}}, nested included."""
    out = {}

    def walk(msg, prefix):
        name = prefix + "." + get(msg, "name")[0].strip('"')
        fields = {}
        for f in get(msg, "field"):
            d = {k: v for k, v in f if not isinstance(v, list)}
            fields[d["name"].strip('"')] = (d.get("number"), d.get("label"), d.get("type"),
                                           d.get("type_name", "").strip('"').lstrip("."))
        out[name] = fields
        for nested in get(msg, "nested_type"):
            walk(nested, name)

    pkg = get(fd, "package")[0].strip('"')
    for msg in get(fd, "message_type"):
        walk(msg, pkg)
    return out


def upstream_messages(binary):
    data = open(binary, "rb").read()
    out = {}
    for m in re.finditer(b"\x1f\x8b\x08\x00\x00\x00\x00\x00", data):
        try:
            blob = zlib.decompressobj(31).decompress(data[m.start():m.start() + 4_000_000])
        except zlib.error:
            continue
        if re.search(rb"k8s\.io/[\w/.\-]+generated\.proto", blob[:200]) is None:
            continue
        try:
            out.update(messages(parse(decode(blob, "google.protobuf.FileDescriptorProto"))))
        except subprocess.CalledProcessError:
            continue
    return out


def our_messages():
    protos = sorted(os.path.relpath(p, HERE)
                    for p in glob.glob(os.path.join(HERE, "k8s.io", "**", "*.proto"), recursive=True))
    with tempfile.NamedTemporaryFile() as out:
        subprocess.run(["protoc", "--proto_path=" + HERE, "--include_imports",
                        "--descriptor_set_out=" + out.name] + protos, check=True, cwd=HERE)
        text = decode(open(out.name, "rb").read(), "google.protobuf.FileDescriptorSet")
    result = {}
    for fd in get(parse(text), "file"):
        result.update(messages(fd))
    return result


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    upstream = upstream_messages(sys.argv[1])
    if not upstream:
        sys.exit(sys.argv[1] + ": no Kubernetes protobuf descriptors found")
    problems, count = 0, 0
    for name, fields in sorted(our_messages().items()):
        if name not in upstream:
            print("message not upstream:", name)
            problems += 1
            continue
        for field, spec in sorted(fields.items()):
            count += 1
            theirs = upstream[name].get(field)
            if theirs != spec:
                print(f"{name}.{field}: ours {spec}, upstream {theirs}")
                problems += 1
    print(f"{count} fields checked against {len(upstream)} upstream messages: {problems} problems")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
