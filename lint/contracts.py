"""import-linter contract types of our own (DESIGN: Layers): `make lint` runs them with the
layers contract in pyproject.toml."""

import ast
import importlib.util
import re

from importlinter.application import output
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck


def _is_private(name: str) -> bool:
    return name.startswith("_") and name != "_" and not name.endswith("__")


def _absolute(module: str, is_package: bool, target: str | None, level: int) -> str:
    """The absolute name of `from <level dots><target> import ...` written in `module`."""
    if level == 0:
        return target or ""
    parts = module.split(".")
    base = parts if is_package else parts[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def _module_tree(module: str):
    """(is_package, ast) of an internal module's source; None for anything without a .py file."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    with open(spec.origin, encoding="utf-8") as source:
        return spec.origin.endswith("__init__.py"), ast.parse(source.read(), spec.origin)


def _pattern(expression: str) -> re.Pattern:
    """`*` stands for one module name, `**` for one or more, as in import-linter."""
    parts = [
        r"[^.]+(\.[^.]+)*" if part == "**" else r"[^.]+" if part == "*" else re.escape(part)
        for part in expression.split(".")
    ]
    return re.compile(r"\.".join(parts) + r"$")


def _render(check: ContractCheck) -> None:
    for violation in check.metadata["violations"]:
        output.print_error(f"- {violation}", bold=False)
        output.new_line()


class InterfaceOnTopContract(Contract):
    """The interface of every app (views, urls, forms, task modules, …) sits above all domain
    code: no module outside the interface imports one inside it."""

    type_name = "interface_on_top"
    interface = fields.ListField(subfield=fields.StringField())

    def check(self, graph, verbose: bool) -> ContractCheck:
        patterns = [_pattern(expression) for expression in self.interface]

        def is_interface(name: str) -> bool:
            return any(pattern.match(name) for pattern in patterns)

        violations = [
            f"{module} imports {imported}"
            for module in sorted(graph.modules)
            if not is_interface(module)
            for imported in sorted(graph.find_modules_directly_imported_by(module))
            if is_interface(imported)
        ]
        return ContractCheck(kept=not violations, metadata={"violations": violations})

    def render_broken_contract(self, check: ContractCheck) -> None:
        _render(check)


class TopLevelImportsContract(Contract):
    """Our own modules are imported at the top of a module, never inside a function: an
    import placed in a function to dodge a cycle hides the cycle instead of breaking it."""

    type_name = "top_level_imports"

    def check(self, graph, verbose: bool) -> ContractCheck:
        violations = []
        for module in sorted(graph.modules):
            parsed = _module_tree(module)
            if parsed is None:
                continue
            is_package, tree = parsed
            for function in ast.walk(tree):
                if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                for node in ast.walk(function):
                    if isinstance(node, ast.ImportFrom):
                        names = [_absolute(module, is_package, node.module, node.level)]
                    elif isinstance(node, ast.Import):
                        names = [alias.name for alias in node.names]
                    else:
                        continue
                    if any(name.split(".")[0] in graph.modules for name in names):
                        violations.append(f"{module}:{node.lineno} imports inside a function")
        return ContractCheck(kept=not violations, metadata={"violations": sorted(set(violations))})

    def render_broken_contract(self, check: ContractCheck) -> None:
        _render(check)


class NoPrivateNamesContract(Contract):
    """No module imports another module's `_private` name, nor reaches one through a module it
    imported (`services._apply`): what is shared gets a public name where it is defined."""

    type_name = "no_private_names"

    def check(self, graph, verbose: bool) -> ContractCheck:
        violations = []
        for module in sorted(graph.modules):
            parsed = _module_tree(module)
            if parsed is not None:
                violations += self._violations(graph, module, *parsed)
        return ContractCheck(kept=not violations, metadata={"violations": violations})

    def _violations(self, graph, module: str, is_package: bool, tree) -> list[str]:
        found, module_aliases = [], set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                source = _absolute(module, is_package, node.module, node.level)
                if source not in graph.modules:
                    continue
                for alias in node.names:
                    if f"{source}.{alias.name}" in graph.modules:
                        module_aliases.add(alias.asname or alias.name)
                    elif _is_private(alias.name):
                        found.append(f"{module}:{node.lineno} imports {source}.{alias.name}")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in graph.modules and alias.asname:
                        module_aliases.add(alias.asname)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in module_aliases
                and _is_private(node.attr)
            ):
                found.append(f"{module}:{node.lineno} uses {node.value.id}.{node.attr}")
        return found

    def render_broken_contract(self, check: ContractCheck) -> None:
        _render(check)
