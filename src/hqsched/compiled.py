"""numba's on-disk cache, keyed on every project source a compiled function depends on.

Usage: at the *bottom* of a module whose numba functions use ``cache=True``
(after the last of them is defined, before any is called)::

    from numba import njit

    from hqsched.compiled import key_caches_on_sources

    @njit(cache=True)
    def step(x):
        return helper(x) + 1        # helper: a jitted function from another file

    key_caches_on_sources(globals())

Nothing else changes: the decorators stay ``@njit(cache=True)``, and under
``NUMBA_DISABLE_JIT=1`` the call does nothing. ``tests/test_compiled_cache.py``
checks that every cached numba function of the project is keyed this way.

Why. numba stores a compiled function next to its source with a stamp of
*that file only* (a hash of ``a.py``; its mtime and size before numba 0.6x):
the callees from other files are compiled into the caller's machine code, yet
editing them leaves the stamp unchanged, so a fresh process silently loads the
old compiled caller (``numba/core/caching.py``: ``IndexDataCacheFile`` compares
one stamp from ``_CacheLocator.get_source_stamp``; issue 12 measured stale
policies this way).

What it does. The call finds the files the module's numba functions depend
on (below), hashes their contents, and replaces each cached dispatcher's
``FunctionCache`` by a ``SourceKeyedCache`` whose index stamp is
``(numba's own stamp, that hash)``. numba then treats any change in those
files exactly like a change in the function's own file: the index no longer
matches, the function is recompiled, and its index and data file are
overwritten in place (the cache does not grow with edits).

Why this mechanism. Alternatives, from numba's caching code:
``NUMBA_CACHE_LOCATOR_CLASSES`` is process-wide and must be set before numba
loads; a per-digest cache directory or an extra term in the index key
(``Cache._index_key``) keeps every stale version on disk; deleting cache
files races with other processes of a pool. The stamp is numba's own
freshness check, so stale entries are never loaded and are overwritten. It
relies on two stable internals (``Dispatcher._cache`` and the
``IndexDataCacheFile(cache_path, filename_base, source_stamp)`` constructor,
both unchanged since numba 0.3x); if they ever change, the dispatcher's disk
cache is switched off with a warning: slower first calls, never stale code.

Dependencies found. Starting from the module's numba functions, every global
name their code (nested code and closures included) refers to is resolved:

- a numba function or plain function of the project: its file, and the names
  *its* code refers to, recursively;
- a project module (``policies.pop(...)``) or any other project object (a
  class, a named tuple type, an instance): the file of the module that
  defines it, and everything defined in that module;
- a plain value (a constant, a dtype): the files of the project modules it was
  imported through (``from .b import LIMIT``), read from their import
  statements.

"The project" is the top-level package of the module (``hqsched``). Only the
source is keyed, as with numba: the compiled code of the functions as
imported, so an edit takes effect in the next process. Not covered (numba
does not cache them either, or they carry their own key): functions received
as arguments (part of the signature), ``@overload`` implementations in a
module the caller does not reach, and ``vectorize`` / ``cfunc`` objects.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib.util
import inspect
import pickle
import sys
import types
import warnings
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from numba.core.caching import FunctionCache, IndexDataCacheFile, NullCache
from numba.core.dispatcher import Dispatcher

__all__ = ["SourceKeyedCache", "dependency_files", "key_caches_on_sources", "sources_digest"]


class SourceKeyedCache(FunctionCache):
    """numba's per-function disk cache, fresh only while ``digest`` (of the sources) is unchanged."""

    def __init__(self, py_func: types.FunctionType, digest: str) -> None:
        super().__init__(py_func)
        self.digest = digest
        stamp = (self._impl.locator.get_source_stamp(), digest)
        self._cache_file = _TolerantIndexFile(cache_path=self._cache_path,
                                              filename_base=self._impl.filename_base,
                                              source_stamp=stamp)


class _TolerantIndexFile(IndexDataCacheFile):
    """numba's index file, read as a miss when it cannot be unpickled.

    Why: numba names the index by function name and first line, and unpickles the
    stamp together with the signatures *before* comparing the stamp; an index written
    by an older source whose signatures name a class since removed (``kernel.Heap``)
    then raises AttributeError at the first call instead of being recompiled."""

    def _load_index(self) -> dict:
        try:
            return super()._load_index()
        except (AttributeError, ImportError, EOFError, ValueError, pickle.UnpicklingError):
            return {}  # another source's index: recompiled, and overwritten on save


def key_caches_on_sources(namespace: Mapping[str, object]) -> list[Path]:
    """Key the disk cache of every ``cache=True`` numba function defined in ``namespace``
    (a module's ``globals()``) on the sources of all project files they depend on.

    Call it at the bottom of the module, before any of its functions is
    compiled. Cached numba functions of other modules that these call are
    keyed too, if their module did not do it (a safety net: each module
    should call this itself). Returns the files the key covers (sorted).
    """
    module = str(namespace["__name__"])
    return _key_module(module, namespace.values(), strict=True)


def _key_module(module: str, values: Iterable[object], strict: bool) -> list[Path]:
    """Install a ``SourceKeyedCache`` on the unkeyed cached dispatchers of ``module``,
    then on those of the modules their code calls into."""
    cached = [d for d in _dispatchers(values, module) if _caches_on_disk(d)
              and not isinstance(d._cache, SourceKeyedCache)]
    if not cached:  # NUMBA_DISABLE_JIT=1, nothing cached, or keyed already
        return []
    walk = _walk([_py_func(d) for d in cached], module.partition(".")[0])
    files = sorted(walk.files)
    digest = sources_digest(files)
    for dispatcher in cached:
        if not dispatcher.overloads:
            _install(dispatcher, digest)
        elif strict:
            raise RuntimeError(f"{module}.{dispatcher.__name__} was compiled before "
                               "key_caches_on_sources: call it at the bottom of the module")
        else:
            warnings.warn(f"{module}.{dispatcher.__name__} was compiled (maybe from a stale "
                          "cache) before a caller keyed it: call key_caches_on_sources at the "
                          "bottom of its module", RuntimeWarning, stacklevel=4)
    for callee in sorted(walk.modules_called - {module}):
        if callee in sys.modules:
            _key_module(callee, list(vars(sys.modules[callee]).values()), strict=False)
    return files


def sources_digest(files: list[Path]) -> str:
    """sha256 of the files' contents, in the given order (hex)."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def dependency_files(functions: list[types.FunctionType], project: str) -> list[Path]:
    """The source files of package ``project`` that ``functions`` may compile in (sorted)."""
    return sorted(_walk(functions, project).files)


def _walk(functions: list[types.FunctionType], project: str) -> _Walk:
    walk = _Walk(project)
    walk.functions.extend(functions)
    while walk.functions:
        walk.visit(walk.functions.pop())
    return walk


def _install(dispatcher: Any, digest: str) -> None:
    try:
        dispatcher._cache = SourceKeyedCache(_py_func(dispatcher), digest)
    except (AttributeError, TypeError) as error:  # numba's internals changed: never risk stale code
        warnings.warn(f"{dispatcher.__name__}: numba's disk cache disabled, cannot key it on "
                      f"its sources ({error})", RuntimeWarning, stacklevel=3)
        dispatcher._cache = NullCache()


def _py_func(dispatcher: Any) -> types.FunctionType:
    """The Python function a numba dispatcher compiles."""
    function = dispatcher.py_func
    assert isinstance(function, types.FunctionType), function
    return function


def _caches_on_disk(dispatcher: Any) -> bool:
    return isinstance(getattr(dispatcher, "_cache", None), FunctionCache)


def _dispatchers(values: Iterable[object], module: str) -> Iterator[Any]:
    """The numba dispatchers among ``values`` whose function is defined in ``module``
    (typed Any: the private ``_cache`` is not in numba's type hints)."""
    for value in values:
        if isinstance(value, Dispatcher) and value.py_func.__module__ == module:
            yield value


class _Walk:
    """The search behind ``dependency_files``: functions still to read, files found, and
    the modules whose functions' code was read."""

    def __init__(self, project: str) -> None:
        self.project = project
        self.files: set[Path] = set()
        self.modules_called: set[str] = set()
        self.functions: list[types.FunctionType] = []
        self.seen: set[types.FunctionType] = set()
        self.modules: set[str] = set()

    def in_project(self, module: object) -> bool:
        return isinstance(module, str) and module.partition(".")[0] == self.project

    def visit(self, function: types.FunctionType) -> None:
        """Add ``function``'s file and follow every global name its code uses."""
        if function in self.seen:
            return
        self.seen.add(function)
        self.files.add(Path(inspect.getfile(function)).resolve())
        module = function.__module__
        self.modules_called.add(module)
        for name, value in _referenced_globals(function):
            for origin in _import_chain(module, name):
                if self.in_project(origin):
                    self.add_module(origin, whole=False)
            self.follow(value)

    def follow(self, value: object) -> None:
        """A value a function uses: walk its code, or its whole module."""
        if isinstance(value, Dispatcher):
            value = _py_func(value)
        if isinstance(value, types.FunctionType):
            if self.in_project(value.__module__):
                self.functions.append(value)
        elif isinstance(value, types.ModuleType):
            if self.in_project(value.__name__):
                self.add_module(value.__name__, whole=True)
        elif self.in_project(owner := getattr(value, "__module__", None)):  # a class or an instance
            self.add_module(str(owner), whole=True)

    def add_module(self, name: str, whole: bool) -> None:
        """Depend on module ``name``'s file and, if ``whole``, on every function it defines."""
        path = _module_file(name)
        if path is not None:
            self.files.add(path)
        if whole and name not in self.modules and name in sys.modules:
            self.modules.add(name)
            for value in list(vars(sys.modules[name]).values()):
                if isinstance(value, Dispatcher):
                    value = _py_func(value)
                if isinstance(value, types.FunctionType) and value.__module__ == name:
                    self.functions.append(value)


def _referenced_globals(function: types.FunctionType) -> Iterator[tuple[str, object]]:
    """(name, value) of each global ``function``'s code refers to, and its closure's cells."""
    names: set[str] = set()
    codes = [function.__code__]
    while codes:
        code = codes.pop()
        names.update(code.co_names)
        codes.extend(c for c in code.co_consts if isinstance(c, types.CodeType))
    for name in sorted(names):
        if name in function.__globals__:
            yield name, function.__globals__[name]
    for name, cell in zip(function.__code__.co_freevars, function.__closure__ or ()):
        try:
            yield name, cell.cell_contents
        except ValueError:  # an empty cell
            continue


def _import_chain(module: str, name: str) -> list[str]:
    """The modules ``name`` was imported through into ``module`` (``from x import name``),
    following re-exports; empty if ``module`` defines it."""
    chain: list[str] = []
    while (origin := _imports(module).get(name)) is not None and origin[0] not in chain:
        chain.append(origin[0])
        module, original = origin
        if original is None:  # ``import x as name``: the module itself
            break
        name = original
    return chain


def _imports(module: str) -> dict[str, tuple[str, str | None]]:
    """Module ``module``'s imports: local name -> (module imported from, name there or None)."""
    path = _module_file(module)
    if path is None:
        return {}
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    stat = path.stat()
    return _parse_imports(path, package, stat.st_mtime_ns, stat.st_size)


@functools.cache
def _parse_imports(path: Path, package: str, mtime_ns: int,
                   size: int) -> dict[str, tuple[str, str | None]]:
    """The import statements of ``path`` (in ``package``), read once per version of the file."""
    found: dict[str, tuple[str, str | None]] = {}
    for node in ast.walk(ast.parse(path.read_bytes())):
        if isinstance(node, ast.ImportFrom):
            source = importlib.util.resolve_name("." * node.level + (node.module or ""), package)
            for alias in node.names:
                found[alias.asname or alias.name] = (source, alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    found[alias.asname] = (alias.name, None)
                else:  # ``import a.b`` binds ``a``
                    top = alias.name.partition(".")[0]
                    found[top] = (top, None)
    return found


def _module_file(name: str) -> Path | None:
    """The source file of module ``name`` (None for a namespace or built-in module)."""
    module = sys.modules.get(name)
    path = getattr(module, "__file__", None)
    if path is None:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            return None
        path = spec.origin if spec is not None else None
    if path is None or not str(path).endswith(".py"):
        return None
    return Path(path).resolve()
