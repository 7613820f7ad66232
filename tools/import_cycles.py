#!/usr/bin/env python3
"""Print the cycles of the product's module import graph, one strongly connected group of
modules per line, and exit 1 if there is any.

    .venv/bin/python tools/import_cycles.py

The graph is grimp's (the one import-linter checks), so imports inside functions count as
much as those at the top of a file. A group of modules that import each other in a circle,
however indirectly, is printed once, with the imports that close it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("core", "config", "integrations", "instances", "executions", "triggers", "api")
PACKAGES += ("webui", "ops")


def strongly_connected(graph: grimp.ImportGraph) -> list[list[str]]:
    """Tarjan's algorithm, iterative (the graph has a few hundred modules)."""
    index: dict[str, int] = {}
    lowlink: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = lowlink[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = lowlink[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append(
                        (child, iter(sorted(graph.find_modules_directly_imported_by(child))))
                    )
                elif child in on_stack:
                    lowlink[module] = min(lowlink[module], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                lowlink[parent] = min(lowlink[parent], lowlink[module])
            if lowlink[module] == index[module]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == module:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return groups


def main() -> int:
    sys.path.insert(0, str(ROOT))
    graph = grimp.build_graph(*PACKAGES, include_external_packages=False)
    groups = strongly_connected(graph)
    for group in groups:
        members = set(group)
        edges = [
            f"{importer} -> {imported}"
            for importer in group
            for imported in sorted(graph.find_modules_directly_imported_by(importer))
            if imported in members
        ]
        print(f"cycle of {len(group)} modules: {', '.join(group)}")
        for edge in edges:
            print(f"    {edge}")
    print(f"{len(groups)} import cycle(s) among {len(graph.modules)} modules")
    return 1 if groups else 0


if __name__ == "__main__":
    sys.exit(main())
