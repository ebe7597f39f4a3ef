"""The house's architecture rules, checked: the import-linter contracts in pyproject.toml hold,
and no module uses another module's `_private` name."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKED = ("mailer", "jobs", "tests", "bench")  # the folders whose modules are checked


def test_import_contracts_hold():
    """`lint-imports`: the layers (jobs > web|api|cli > campaigns > services > engine > lib >
    models) and no import circles between sibling packages."""
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(lint_imports), "--no-cache", "--no-logo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    report = result.stdout
    broken = report[report.find("Broken contracts") :] if "Broken contracts" in report else report
    kept = result.returncode == 0
    assert kept, f"import contracts broken:\n{broken}\n{result.stderr}"


# ------------------------------------------------------------------ private names


def _project_roots() -> set[str]:
    """Top-level names of the project's own modules: its packages and top-level modules."""
    roots = {p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    roots |= {p.stem for p in ROOT.glob("*.py")}
    return roots | set(CHECKED)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _is_module(dotted: str) -> bool:
    """Whether a dotted name is one of the project's modules (a .py file or a package)."""
    base = ROOT.joinpath(*dotted.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The absolute name of the module a `from ... import` reads from."""
    if not node.level:
        return node.module or ""
    package = module.split(".") if is_package else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def private_uses(path: Path, roots: set[str]) -> list[str]:
    """`from x import _y` with x a project module; `mod._y` with `mod` a name bound by an import
    of a project module, or its string form `getattr(mod, "_y")`, `monkeypatch.setattr(mod,
    "_y", ...)`: "file:line: what" for each, in line order."""
    module = _module_name(path)
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    where = path.relative_to(ROOT)
    offences: list[tuple[int, str]] = []
    modules: set[str] = set()  # local names bound to project modules
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in roots:
                    modules.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(node, module, is_package)
            if source.split(".")[0] not in roots:
                continue
            for alias in node.names:
                if _is_private(alias.name):
                    offences.append((node.lineno, f"from {source} import {alias.name}"))
                elif _is_module(f"{source}.{alias.name}"):
                    modules.add(alias.asname or alias.name)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _is_private(node.attr):
            chain = node.value
            while isinstance(chain, ast.Attribute) and not _is_private(chain.attr):
                chain = chain.value
            if isinstance(chain, ast.Name) and chain.id in modules:
                offences.append((node.lineno, ast.unparse(node)))
        elif isinstance(node, ast.Call) and len(node.args) >= 2:
            target, name = node.args[:2]
            if (
                isinstance(target, ast.Name)
                and target.id in modules
                and isinstance(name, ast.Constant)
                and isinstance(name.value, str)
                and _is_private(name.value)
            ):
                offences.append(
                    (node.lineno, ast.unparse(node.func) + f"({target.id}, {name.value!r})")
                )
    return [f"{where}:{line}: {what}" for line, what in sorted(offences)]


def test_no_module_uses_another_modules_private_names():
    roots = _project_roots()
    offences = [
        offence
        for folder in CHECKED
        for path in sorted((ROOT / folder).rglob("*.py"))
        for offence in private_uses(path, roots)
    ]
    assert offences == [], "private names used from other modules:\n" + "\n".join(offences)
