"""A custom import-linter contract: forbid submodules of external packages.

import-linter squashes an external package to its top-level name, so its own
`forbidden` contract can forbid `urllib` but not `urllib.request` alone, and
the pure models need `urllib.parse`. This contract reads the import statements
of the source modules, and of every module of the root packages they reach, and
reports any that names a forbidden submodule (`import urllib.request`,
`from urllib.request import urlopen`, `from urllib import request`).

Used by `.importlinter` (`contract_types`); lint-imports imports it from the
repository root, which it puts on sys.path.
"""

from __future__ import annotations

import ast
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from grimp import ImportGraph
from importlinter import Contract, ContractCheck, fields, output
from importlinter.domain.helpers import module_expressions_to_modules


@dataclass(frozen=True, order=True)
class Violation:
    source: str  # the module of source_modules the offender is reached from
    importer: str  # the module whose statement names the forbidden submodule
    line: int
    forbidden: str


def names_submodule(node: ast.stmt, dotted: str) -> bool:
    """Whether an import statement imports `dotted` or something inside it."""
    head, _, tail = dotted.rpartition(".")
    if isinstance(node, ast.Import):
        return any(a.name == dotted or a.name.startswith(dotted + ".") for a in node.names)
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        if node.module == dotted or node.module.startswith(dotted + "."):
            return True
        return node.module == head and any(a.name == tail for a in node.names)
    return False


class ForbiddenSubmodulesContract(Contract):
    """Source modules (and what they import of the root packages) import no forbidden submodule.

    Options: `source_modules` (module expressions), `forbidden_modules` (dotted
    names of submodules of external packages, e.g. `urllib.request`).
    """

    source_modules = fields.SetField(subfield=fields.ModuleExpressionField())
    forbidden_modules = fields.SetField(subfield=fields.StringField())

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        roots: list[str] = list(self.session_options["root_packages"])
        forbidden = sorted(str(name) for name in self.forbidden_modules)  # type: ignore[attr-defined]
        violations: set[Violation] = set()
        for source in self._sources(graph):
            reached = {source, *graph.find_upstream_modules(source)}
            for module in sorted(m for m in reached if _is_internal(m, roots)):
                for node in ast.walk(_parse(module, roots)):
                    if isinstance(node, ast.stmt):
                        violations |= {
                            Violation(source, module, node.lineno, name)
                            for name in forbidden
                            if names_submodule(node, name)
                        }
                output.verbose_print(verbose, f"Checked {module} (reached from {source}).")
        return ContractCheck(kept=not violations, metadata={"violations": sorted(violations)})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for v in check.metadata["violations"]:
            via = "" if v.importer == v.source else f" (through {v.importer})"
            output.print_error(f"{v.source} is not allowed to import {v.forbidden}{via}:")
            output.print_error(f"-   {v.importer} -> {v.forbidden} (l.{v.line})", bold=False)
            output.new_line()

    def _sources(self, graph: ImportGraph) -> list[str]:
        out: set[str] = set()
        for module in module_expressions_to_modules(graph, self.source_modules):  # type: ignore[arg-type]
            if module.name not in graph.modules:
                raise ValueError(f"Module '{module.name}' does not exist.")
            out |= {module.name, *graph.find_descendants(module.name)}
        return sorted(out)


def _is_internal(module: str, roots: list[str]) -> bool:
    return any(module == root or module.startswith(root + ".") for root in roots)


def _parse(module: str, roots: list[str]) -> ast.Module:
    """The syntax tree of an internal module, found without executing any of its code."""
    root = next(r for r in roots if module == r or module.startswith(r + "."))
    spec = importlib.util.find_spec(root)  # imports only the parents of the root (a namespace here)
    if spec is None or spec.origin is None:
        raise ValueError(f"Root package '{root}' is not importable.")
    path = Path(spec.origin).parent.joinpath(*module[len(root) :].split(".")[1:])
    file = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    return ast.parse(file.read_text(), filename=str(file))
