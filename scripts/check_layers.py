#!/usr/bin/env python3
"""The layering invariants of ARCHITECTURE.md, checked mechanically (run by .ci/run).

1. `paicha-domain` depends on no IO crate: no database, network, async runtime or HTTP,
   directly or through another crate.
2. Only `paicha-storage` (and its schema, `paicha-migrations`) names the database: sea-orm
   and sea-query in no other package's
   dependencies or code; sqlx in no other package's normal dependencies or `src/` (test code
   may open a database directly to tamper with it as an attacker would, and the test kit
   creates the test databases).
3. Only `paicha-server` and `paicha-web` name axum: HTTP stays at the edge.
4. `paicha-server`'s modules import each other without a cycle (a route module is a module of
   its own; `lib.rs`, which builds the router from them, and test code are left out).

Exit status 1, with every offending line, when one does not hold.
"""

import json
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
IO_CRATES = {"tokio", "sea-orm", "sea-query", "sqlx", "axum", "reqwest", "hyper",
             "jsonwebtoken", "aws-sdk-s3", "mio"}
TEST_KIT = "paicha-tests"

failures = []


def metadata():
    out = subprocess.run(["cargo", "metadata", "--format-version", "1"], cwd=ROOT,
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def domain_free_of_io(meta):
    """Every crate `paicha-domain` pulls in through normal dependencies."""
    packages = {p["id"]: p for p in meta["packages"]}
    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
    start = next(p["id"] for p in meta["packages"] if p["name"] == "paicha-domain")
    seen, stack = set(), [start]
    while stack:
        node = nodes[stack.pop()]
        for dep in node["deps"]:
            if any(k["kind"] is None for k in dep["dep_kinds"]) and dep["pkg"] not in seen:
                seen.add(dep["pkg"])
                stack.append(dep["pkg"])
    for pkg in sorted(packages[i]["name"] for i in seen):
        if pkg in IO_CRATES:
            failures.append(f"paicha-domain depends on the IO crate {pkg}")


def dependencies(meta):
    """Each workspace package's folder, and its (dependency, kind) pairs."""
    members = set(meta["workspace_members"])
    for p in meta["packages"]:
        if p["id"] in members:
            folder = pathlib.Path(p["manifest_path"]).parent
            yield p["name"], folder, [(d["name"], d["kind"]) for d in p["dependencies"]]


def rust_files(folder, only_src):
    base = folder / "src" if only_src else folder
    return sorted(base.rglob("*.rs")) if base.exists() else []


def code_hits(files, pattern):
    hits = []
    for f in files:
        for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line) and not line.lstrip().startswith("//"):
                hits.append(f"{f.relative_to(ROOT)}:{n}: {line.strip()}")
    return hits


def only_in(meta, what, crates, allowed, code, src_only=False, dev_ok=False):
    for name, folder, deps in dependencies(meta):
        if name in allowed:
            continue
        for dep, kind in deps:
            if dep in crates and not (dev_ok and (kind == "dev" or name == TEST_KIT)):
                failures.append(f"{name} depends on {dep} ({kind or 'normal'}): {what}")
        if dev_ok and name == TEST_KIT:
            continue
        for hit in code_hits(rust_files(folder, src_only), code):
            failures.append(f"{hit}  ({what})")


def server_module_cycles():
    """Cycles among the server's modules, by their `crate::…` paths outside test code."""
    src = ROOT / "crates/server/src"
    graph = {}
    for f in sorted(src.rglob("*.rs")):
        parts = list(f.relative_to(src).with_suffix("").parts)
        if parts[-1] == "mod":
            parts = parts[:-1]
        if parts in (["lib"], ["main"]):
            continue
        module = "::".join(parts[:2]) if parts[0] == "routes" else parts[0]
        code = f.read_text(encoding="utf-8").split("#[cfg(test)]")[0]
        for first, second in re.findall(r"crate::([a-z_]+)(?:::([a-z_]+))?", code):
            target = first
            if first == "routes" and second and (src / "routes" / f"{second}.rs").exists():
                target = f"routes::{second}"
            if target != module:
                graph.setdefault(module, set()).add(target)
    state, path = {}, []

    def visit(node):
        state[node] = "open"
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                failures.append("server modules import in a cycle: "
                                + " -> ".join(path[path.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)


def main():
    meta = metadata()
    domain_free_of_io(meta)
    only_in(meta, "only paicha-storage names sea-orm", {"sea-orm", "sea-query", "sea-orm-migration"},
            {"paicha-storage", "paicha-migrations"}, re.compile(r"\b(sea_orm|sea_query|sea_orm_migration)::|\buse (sea_orm|sea_query)\b"))
    only_in(meta, "only paicha-storage opens the database (test code aside)", {"sqlx"},
            {"paicha-storage"}, re.compile(r"\bsqlx::|\buse sqlx\b"), src_only=True, dev_ok=True)
    only_in(meta, "only paicha-server and paicha-web name axum", {"axum", "axum-extra", "axum-core"},
            {"paicha-server", "paicha-web"}, re.compile(r"\baxum(_extra|_core)?::|\buse axum\b"))
    server_module_cycles()
    for f in failures:
        print(f, file=sys.stderr)
    print(f"layers: {len(failures)} violation(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
