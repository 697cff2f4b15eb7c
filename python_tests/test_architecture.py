"""The layering the package is built on, checked from its source: no import cycles between its
modules, algorithms reach the compiled core only through metarl_fast.kernels, the C++ task
families are known by name, and package __init__ files only re-export."""
import ast
import os

import pytest

import metarl_fast

PKG = os.path.dirname(metarl_fast.__file__)


def _modules() -> dict[str, str]:
    """{dotted module name: path} of every Python module of the package (and the leaves the build
    writes: the compiled core metarl_fast._C, and metarl_fast._build_info)."""
    out = {"metarl_fast._C": "", "metarl_fast._build_info": ""}
    for root, _, files in os.walk(PKG):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(root, name)
                rel = os.path.relpath(path, os.path.dirname(PKG))[:-3].replace(os.sep, ".")
                out[rel.removesuffix(".__init__")] = path
    return out


MODULES = _modules()


def _imports(module: str, path: str) -> set[str]:
    """The package modules `module` imports (any import statement, also inside functions): for
    ``from P import x``, the module P.x, or P itself when x is a name defined in P."""
    is_pkg = path.endswith("__init__.py")
    base = module.split(".") if is_pkg else module.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(open(path).read())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            parent = base[:len(base) - node.level + 1] if node.level else []
            prefix = ".".join(parent + ([node.module] if node.module else []))
            names = [f"{prefix}.{a.name}" if f"{prefix}.{a.name}" in MODULES else prefix for a in node.names]
        else:
            continue
        for name in names:
            while name and name not in MODULES:  # a name from a module: the module
                name = name.rpartition(".")[0]
            if name and name != module:
                found.add(name)
    return found


GRAPH = {m: _imports(m, p) for m, p in MODULES.items() if p}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_import_graph_is_acyclic():
    """Package __init__ files re-export their submodules, so edges into a package's own
    submodules from its __init__ are part of the graph like any other."""
    assert len(MODULES) > 60 and "metarl_fast.algos.run.runner" in GRAPH
    assert _cycle(GRAPH) is None, " → ".join(_cycle(GRAPH))


def test_the_cycle_finder_finds_cycles():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_algorithms_and_samplers_reach_the_core_through_kernels_and_envs():
    for m, deps in GRAPH.items():
        if m.startswith(("metarl_fast.algos", "metarl_fast.sampling", "metarl_fast.experts")):
            assert "metarl_fast._C" not in deps, m
    raw = [m for m, p in MODULES.items() if p and m.startswith("metarl_fast.algos") and "_C." in open(p).read()]
    assert raw == []


def test_python_knows_the_cpp_families_by_name():
    from metarl_fast import _C
    from metarl_fast.envs import CPP_FAMILIES

    assert sorted(_C.task_family_names()) == sorted(CPP_FAMILIES)
    with pytest.raises(ValueError, match="unknown task family 'Nope'; known: HalfCheetahRandDirec"):
        _C.SimPool("Nope", "")


@pytest.mark.parametrize("module", sorted(m for m, p in MODULES.items() if p and p.endswith("__init__.py")))
def test_package_inits_only_re_export(module):
    """An __init__ holds imports, __all__, constants and its docstring: no functions or classes."""
    tree = ast.parse(open(MODULES[module]).read())
    defs = [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    # metarl_fast.load imports the runner lazily, so `import metarl_fast` does not load the algorithms
    allowed = {"metarl_fast.cli": {"_import_plugins", "main"}, "metarl_fast": {"load"}}.get(module, set())
    assert set(defs) <= allowed, defs
