"""mypy over hqsched as it installs: every folder as ``hqsched.<folder>``.

The source folders (``instances/``, ``online/``, ...) install as
``hqsched.instances``, ``hqsched.online``, ... (pyproject.toml,
``[tool.setuptools] package-dir``). mypy maps a module to a file by its
directory, so run on the folders it would see ``instances.model``, not
``hqsched.instances.model``, and every cross-package import would become
``Any``. This script lays the package out as installed, with symbolic links,
in ``build/mypy/hqsched/``, runs ``mypy -p hqsched`` with that tree on its
search path (the settings are pyproject.toml's ``[tool.mypy]``), and prints
each error with its source path.

    python .ci/typecheck.py [mypy options]     # exit code: mypy's

It needs mypy in the interpreter that runs it, and the package's
dependencies installed (their types are read from the environment).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
TREE = ROOT / "build" / "mypy"  # kept between runs: mypy's cache is keyed on these paths


def package_dirs() -> dict[str, Path]:
    """``hqsched`` package name -> its source folder, from pyproject.toml."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return {package: ROOT / folder
            for package, folder in config["tool"]["setuptools"]["package-dir"].items()}


def build_tree() -> None:
    """``build/mypy/hqsched/``: the root package's files, each folder linked at its package."""
    shutil.rmtree(TREE, ignore_errors=True)
    dirs = package_dirs()
    root = TREE / "hqsched"
    root.mkdir(parents=True)
    for entry in dirs.pop("hqsched").iterdir():  # src/hqsched: its modules and sub-packages
        if entry.name != "__pycache__":
            (root / entry.name).symlink_to(entry)
    for package, folder in dirs.items():
        TREE.joinpath(*package.split(".")).symlink_to(folder, target_is_directory=True)


def source_paths(text: str) -> str:
    """mypy's output with each ``build/mypy/...`` path replaced by the file it links to."""
    prefix = re.escape(os.path.relpath(TREE, ROOT) + os.sep)
    return re.sub(rf"^{prefix}\S+?\.pyi?(?=:)",
                  lambda m: os.path.relpath(os.path.realpath(ROOT / m.group(0)), ROOT),
                  text, flags=re.MULTILINE)


def main(args: list[str]) -> int:
    build_tree()
    env = {**os.environ, "MYPYPATH": str(TREE)}
    done = subprocess.run([sys.executable, "-m", "mypy", "-p", "hqsched", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True)
    sys.stdout.write(source_paths(done.stdout))
    sys.stderr.write(source_paths(done.stderr))
    return done.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
