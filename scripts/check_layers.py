#!/usr/bin/env python3
"""Checks Ferry's layering over the #include lines of the image's sources.

The layers and what each may include are the table in docs/architecture.md; this
script holds the same table (LAYERS, MAY_INCLUDE) and fails, naming the file and
the line, when a source includes a header of a layer it may not reach, or when
files include each other in a circle. `make` runs it before the image links,
so a new back-edge fails the build.

Usage: scripts/check_layers.py [ROOT]   (exit status 1 on a violation)
"""
import os
import re
import sys

# Most specific first: a file belongs to the first layer whose prefix matches.
LAYERS = [
    ("boot", "boot/"),
    ("main", "kernel/main.c"),
    ("shell", "kernel/shell/"),
    ("migration", "kernel/migration/"),
    ("vm", "kernel/vm/"),
    ("vdev", "kernel/vdev/"),
    ("lib", "kernel/lib/"),
    ("lib", "include/"),
    ("ground", "kernel/"),
    ("dispatch", "arch/x86/vcpu.c"),
    ("backend", "arch/x86/vmx/"),
    ("backend", "arch/x86/svm/"),
    ("arch", "arch/x86/"),
    ("drivers", "drivers/"),
    ("net", "net/"),
]

# What each layer may include besides itself. Read bottom-up: lib, ground, arch,
# backend/drivers, dispatch/net/vdev, vm, migration, shell, main, boot.
MAY_INCLUDE = {
    "lib": set(),
    "ground": {"lib"},
    "arch": {"ground", "lib"},
    "backend": {"arch", "ground", "lib"},
    "drivers": {"arch", "ground", "lib"},
    "dispatch": {"backend", "arch", "ground", "lib"},
    "vdev": {"arch", "ground", "lib"},
    "net": {"drivers", "arch", "ground", "lib"},
    "vm": {"vdev", "net", "arch", "ground", "lib"},
    "migration": {"vm", "vdev", "net", "arch", "ground", "lib"},
    "shell": {"migration", "vm", "vdev", "net", "drivers", "arch", "ground", "lib"},
    "main": {"shell", "migration", "vm", "vdev", "net", "drivers", "dispatch", "arch",
             "ground", "lib"},
    "boot": {"main", "drivers", "arch", "ground", "lib"},
}

# Third-party headers: who may use them.
EXTERNAL = {
    "lwip/": {"net"},
    "netif/": {"net"},
    "mbedtls/": {"migration"},
}

SOURCE_DIRS = ["boot", "kernel", "arch", "drivers", "net", "include"]
INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def layer_of(path):
    for name, prefix in LAYERS:
        if path == prefix or path.startswith(prefix):
            return name
    return None


def sources(root):
    for top in SOURCE_DIRS:
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for f in sorted(files):
                if f.endswith((".c", ".h", ".S")):
                    yield os.path.relpath(os.path.join(dirpath, f), root)


def resolve(root, including, name):
    """The repository path an #include "name" reaches, or None for a third-party one."""
    for base in ("", "include/", os.path.dirname(including) + "/"):
        candidate = os.path.normpath(base + name)
        if os.path.exists(os.path.join(root, candidate)):
            return candidate
    return None


def check(root):
    problems = []
    graph = {}
    for path in sources(root):
        layer = layer_of(path)
        graph[path] = set()
        with open(os.path.join(root, path), encoding="utf-8", errors="replace") as f:
            for lineno, line in enumerate(f, 1):
                m = INCLUDE_RE.match(line)
                if not m:
                    continue
                name = m.group(1)
                target = resolve(root, path, name)
                if target is None:
                    for prefix, users in EXTERNAL.items():
                        if name.startswith(prefix) and layer not in users:
                            problems.append("%s:%d: the %s layer includes %s (only %s may)"
                                            % (path, lineno, layer, name, ", ".join(sorted(users))))
                    continue
                graph[path].add(target)
                other = layer_of(target)
                if other is None or other == layer:
                    continue
                if other not in MAY_INCLUDE.get(layer, set()):
                    problems.append("%s:%d: the %s layer includes %s of the %s layer"
                                    % (path, lineno, layer, target, other))
    problems += circles(graph)
    return problems


def circles(graph):
    """Include cycles among files (Tarjan's strongly connected components)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append("include circle: " + " -> ".join(sorted(group)))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    problems = check(os.path.abspath(root))
    for p in problems:
        print("layers: " + p)
    if problems:
        print("layers: %d violation(s); the rules are in docs/architecture.md" % len(problems))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
