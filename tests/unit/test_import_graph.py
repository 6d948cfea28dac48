"""The import graph of the repository's own code, read with `ast` (top-level and function-level imports):
every edge points down the layering of DESIGN.md, and no two modules import each other, even through others."""
from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Where each package's modules are importable from (what sys.path holds when they run).
PACKAGE_ROOTS = {"chalicelib": REPO / "registry_app", "client": REPO, "publisher": REPO, "console": REPO,
                 "local_stack": REPO}
# Folders of scripts that import their siblings by bare name (their folder is on sys.path), as `folder.module`.
SCRIPT_FOLDERS = ("bench", "container", "deploy", "distributions", "examples")

# Higher imports lower, never the reverse; two different groups on one level do not import each other.
TOP_LEVELS = {"bench": 6, "examples": 6, "deploy": 6, "distributions": 6, "local_stack": 5, "console": 4,
              "client": 3, "publisher": 3, "app": 2, "chalicelib": 1, "container": 1}
# other modules: 2
CHALICELIB_LEVELS = {"api": 7, "rollouts": 6, "aliases": 5, "versions": 4, "outbox": 3, "validation": 1}
LOCAL_STACK_LEVELS = {"demo": 4, "runtime": 2, "aws": 2, "processes": 1, "environments": 1}  # the root's: 3


def module_files() -> dict[str, Path]:
    """Every module of ours by its dotted name (a package by its __init__.py)."""
    found = {"app": REPO / "registry_app" / "app.py"}
    for package, root in PACKAGE_ROOTS.items():
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    for folder in SCRIPT_FOLDERS:
        for path in sorted((REPO / folder).glob("*.py")):
            found[f"{folder}.{path.stem}"] = path
    return found


def imported_names(name: str, path: Path) -> set[str | tuple[str, str]]:
    """What a module imports anywhere in its body: `import a.b` as "a.b", `from a import b` as ("a", "b"),
    relative imports made absolute."""
    is_package = path.name == "__init__.py"
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")[: len(name.split(".")) - node.level + (1 if is_package else 0)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            names.update((module, alias.name) for alias in node.names)
    return names


def resolve(imported: str | tuple[str, str], importer: str, modules: dict[str, Path]) -> str | None:
    """The module of ours an import lands in (its longest known prefix), or None if it is not ours:
    `from a import b` lands in a.b when that is a module, else in a (a name a defines)."""
    if isinstance(imported, tuple):
        module, name = imported
        landing = resolve(f"{module}.{name}", importer, modules)
        return landing if landing is not None and landing.endswith(f".{name}") else resolve(module, importer, modules)
    folder = importer.split(".")[0]
    if folder in SCRIPT_FOLDERS and f"{folder}.{imported.split('.')[0]}" in modules:
        imported = f"{folder}.{imported}"
    parts = imported.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in modules:
            return ".".join(parts[:end])
    return None


def import_graph() -> dict[str, set[str]]:
    modules = module_files()
    graph = {}
    for name, path in modules.items():
        targets = {resolve(imported, name, modules) for imported in imported_names(name, path)}
        graph[name] = {target for target in targets if target is not None and target != name}
    return graph


def layer(module: str) -> tuple[int, str, int, str]:
    """(level, group) between top-level folders, then (level, group) inside chalicelib and local_stack."""
    parts = module.split(".")
    top = parts[0]
    inner_levels = {"chalicelib": (CHALICELIB_LEVELS, 2), "local_stack": (LOCAL_STACK_LEVELS, 3)}.get(top)
    if inner_levels is None or len(parts) < 2:
        return TOP_LEVELS[top], top, 0, ""
    levels, root_level = inner_levels
    return TOP_LEVELS[top], top, levels.get(parts[1], root_level), parts[1] if parts[1] in levels else "(root)"


def upward_edges(graph: dict[str, set[str]]) -> dict[tuple[str, str], str]:
    """Each edge that points up, with the rule it breaks."""
    wrong = {}
    for importer, targets in sorted(graph.items()):
        for target in sorted(targets):
            (level, group, inner, inner_group), (t_level, t_group, t_inner, t_inner_group) = (layer(importer),
                                                                                               layer(target))
            if group != t_group:
                if t_level >= level:
                    wrong[importer, target] = f"{group} may not import {t_group}"
            elif inner_group != t_inner_group and t_inner >= inner:
                wrong[importer, target] = f"{group}: {inner_group} may not import {t_inner_group}"
    return wrong


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index, low, on_stack, stack, found, counter = {}, {}, set(), [], [], [0]

    def visit(start: str) -> None:
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, targets = work[-1]
            for target in targets:
                if target not in index:
                    index[target] = low[target] = counter[0]
                    counter[0] += 1
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph[target]))))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def test_the_graph_holds_the_modules_of_every_layer_and_their_imports():
    graph = import_graph()
    assert {"app", "chalicelib.api.openapi", "client.cli", "console.app", "publisher.cli", "local_stack.stack",
            "local_stack.runtime.gateway", "bench.common"} <= set(graph)
    assert "local_stack.runtime.model_cache" in graph["local_stack.runtime.gateway"]
    assert "chalicelib.validation" in graph["client.registry_code"]  # a function-level import


def test_no_module_imports_one_from_a_higher_layer():
    wrong = upward_edges(import_graph())

    assert not wrong, "imports against the layering:\n" + "\n".join(
        f"{importer} -> {target}: {rule}" for (importer, target), rule in sorted(wrong.items()))


def test_nothing_outside_the_console_imports_it():
    """Not even from the layers above it (local_stack, bench): the console is a program, started as
    `python -m console` by a user, by `python -m client console` or by the local stack."""
    importers = {importer: sorted(target for target in targets if target.split(".")[0] == "console")
                 for importer, targets in import_graph().items() if importer.split(".")[0] != "console"}

    assert not {importer: targets for importer, targets in importers.items() if targets}


def test_no_modules_import_each_other_even_through_others():
    found = cycles(import_graph())

    assert not found, "import circles:\n" + "\n".join(" <-> ".join(circle) for circle in found)
