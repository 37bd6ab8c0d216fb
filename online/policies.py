"""Quantum scheduling policies: which pending quantum task a freed QC runs next.

Two kinds, both run inside the compiled event loop (``online/kernel.py``):

- **Key policies** (every policy a user writes, and ``las``, ``sqf``,
  ``priority``, ``aging``, ``srpt-oracle``): a subclass of ``Policy`` with a
  ``key(task, now)`` function; the pending task with the smallest key runs
  next, ties going to the task that became pending first. numba compiles the
  key as a C callback (``numba.cfunc``) that the loop calls through a
  function pointer, so the compiled loop never holds a policy's code: a
  changed key runs on the next call, and one compiled loop serves every key.
- **Array policies** (``fifo``, ``lifo``, ``random``, ``weighted``,
  ``fifo-swap``): hand-written push/pop pairs over plain arrays, kept for
  speed and for their exact random-stream use. ``items[level, :]`` holds
  job slots, ``counts[level]`` how many, ``meta`` two integers of policy state;
  ``push(items, counts, meta, job, level, weights)`` adds a task,
  ``pop(items, counts, meta, weights, u) -> job`` removes the next one (``u``
  uniform on [0, 1), drawn from the run's policy stream only for randomised
  policies, one per pop). They are the paper's policies and are not meant to
  be extended: write a key policy instead.

Writing a policy (see ``examples/my_policies.py``)::

    from hqsched import Policy

    class ShortestFirst(Policy):
        name = "shortest-first"
        description = "shortest quantum task first"

        @staticmethod
        def key(task, now):
            return task.quantum_s

and run it with ``hqsched simulate --policy my_policies.py:ShortestFirst``
(or ``package.module:ShortestFirst``), or pass the class from Python.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from numba import cfunc, njit, types
from numba.core import config as numba_config
from numba.np.numpy_support import from_dtype

from hqsched.compiled import key_caches_on_sources
from hqsched.errors import InputError

# Policy ids in the event loop: array policies first, then the two ways of holding a key
# policy's pending tasks (a heap on a key fixed at push, or a list scanned at every pick).
FIFO, LIFO, RANDOM, WEIGHTED, FIFO_SWAP, KEYED, SCANNED = 0, 1, 2, 3, 4, 5, 6
#: The ids with a push/pop pair in ``policy_push`` / ``policy_pop``.
ARRAY_IDS = (FIFO, LIFO, RANDOM, WEIGHTED, FIFO_SWAP)

I8, F8 = np.int64, np.float64
#: What a key policy sees of one pending quantum task (times in seconds). The last two
#: fields are filled only for clairvoyant policies (else -1 and NaN).
TASK = np.dtype([
    ("arrival", F8),  # the job's arrival time
    ("priority", I8),  # the job's priority (larger = more important)
    ("qubits", I8),  # the job's qubits
    ("queued_at", F8),  # when this task became pending
    ("quantum_s", F8),  # this task's duration on a QC (the backend's estimate)
    ("iterations_done", I8),  # iterations the job has completed
    ("attained_s", F8),  # quantum service the job has received (s)
    ("remaining_iterations", I8),  # iterations left, this one included (clairvoyant)
    ("remaining_quantum_s", F8),  # quantum work left, this task included (clairvoyant)
])
#: Fields only a clairvoyant policy may read.
CLAIRVOYANT_FIELDS = ("remaining_iterations", "remaining_quantum_s")
#: The compiled type of a key: ``key(task, now) -> float``, ``task`` a ``TASK`` record.
KEY_SIGNATURE = types.float64(from_dtype(TASK), types.float64)


@njit(cache=True)
def fifo_push(items, counts, meta, job, level, weights):
    """Append at the tail of a ring buffer in row 0 (``meta[0]`` = head)."""
    cap = items.shape[1]
    items[0, (meta[0] + counts[0]) % cap] = job
    counts[0] += 1


@njit(cache=True)
def fifo_pop(items, counts, meta, weights, u):
    """The task that entered the pending set first."""
    job = items[0, meta[0]]
    meta[0] = (meta[0] + 1) % items.shape[1]
    counts[0] -= 1
    return job


@njit(cache=True)
def stack_push(items, counts, meta, job, level, weights):
    """Append to row 0 (LIFO and random keep one unordered-or-stacked row)."""
    items[0, counts[0]] = job
    counts[0] += 1


@njit(cache=True)
def lifo_pop(items, counts, meta, weights, u):
    """The task that entered the pending set last."""
    counts[0] -= 1
    return items[0, counts[0]]


@njit(cache=True)
def swap_remove(items, counts, row, i):
    """Remove slot ``i`` of ``row`` by moving the last task into it (O(1), order not kept)."""
    n = counts[row] - 1
    last = items[row, n]
    counts[row] = n
    if i < n:
        job = items[row, i]
        items[row, i] = last
        return job
    return last


@njit(cache=True)
def swap_front_pop(items, counts, meta, weights, u):
    """The reference simulator's FIFO: the task at index 0, the last task moved into its
    place (Rust's ``Vec::swap_remove(0)``). Not first-in-first-out once three or more
    tasks wait: the next pick is the task that was newest at the previous pick."""
    return swap_remove(items, counts, 0, 0)


@njit(cache=True)
def random_pop(items, counts, meta, weights, u):
    """Uniformly at random: each of the ``n`` pending tasks with probability ``1/n``."""
    return swap_remove(items, counts, 0, int(u * counts[0]))


@njit(cache=True)
def weighted_push(items, counts, meta, job, level, weights):
    """Into the bucket of its priority; ``meta[1]`` keeps ``W = sum of pending priorities``."""
    items[level, counts[level]] = job
    counts[level] += 1
    meta[1] += weights[level]


@njit(cache=True)
def weighted_pop(items, counts, meta, weights, u):
    """Task ``j`` with probability ``w_j / W``, ``W = sum_k w_k`` over pending tasks.

    Buckets in ascending priority; ``u * W`` falls in bucket ``w``'s span of
    length ``w * n_w`` with the right probability, and ``(u W - start) / w``
    is then uniform on ``[0, n_w)``: it picks the task inside the bucket.
    The second test catches ``u W`` rounding onto ``W``: the last non-empty
    bucket ends exactly at ``W`` (integer sums). O(number of priorities).
    """
    total = meta[1]
    x = u * total
    start = 0.0
    for level in range(weights.shape[0]):
        w = weights[level]
        span = w * counts[level]
        if span > 0 and (x < start + span or start + span >= total):
            meta[1] = total - w
            return swap_remove(items, counts, level, int((x - start) / w))
        start += span
    return -1


@njit(cache=True)
def policy_push(policy_id, items, counts, meta, job, level, weights):
    if policy_id == FIFO:
        fifo_push(items, counts, meta, job, level, weights)
    elif policy_id == WEIGHTED:
        weighted_push(items, counts, meta, job, level, weights)
    else:  # LIFO, RANDOM and FIFO_SWAP append to one row (SCANNED too, in the loop)
        stack_push(items, counts, meta, job, level, weights)


@njit(cache=True)
def policy_pop(policy_id, items, counts, meta, weights, u):
    if policy_id == FIFO:
        return fifo_pop(items, counts, meta, weights, u)
    if policy_id == LIFO:
        return lifo_pop(items, counts, meta, weights, u)
    if policy_id == RANDOM:
        return random_pop(items, counts, meta, weights, u)
    if policy_id == FIFO_SWAP:
        return swap_front_pop(items, counts, meta, weights, u)
    return weighted_pop(items, counts, meta, weights, u)


def grow_items(policy_id: int, items: np.ndarray, counts: np.ndarray, meta: np.ndarray,
               columns: int) -> np.ndarray:
    """``items`` widened to ``columns`` with the same pending set and order (plain Python).

    FIFO's row 0 is a ring starting at ``meta[0]``: it is copied in queue order
    and its head reset to 0. The other policies fill each row from column 0 (a
    KEYED policy keeps its tasks in the loop's heap; its ``items`` are unused).
    """
    wider = np.empty((items.shape[0], columns), dtype=items.dtype)
    if policy_id == FIFO:
        n = int(counts[0])
        wider[0, :n] = items[0, (int(meta[0]) + np.arange(n)) % items.shape[1]]
        meta[0] = 0
    else:
        for level, n in enumerate(counts.tolist()):
            wider[level, :n] = items[level, :n]
    return wider


class Policy:
    """A quantum scheduling policy: subclass it and define ``key``.

    Extension points (class attributes):

    - ``key(task, now) -> float`` (a static method): the pending task with the
      smallest key runs next; ties go to the task that became pending first.
      ``task`` is a ``TASK`` record (fields above), ``now`` the current time (s).
      It is compiled by numba in nopython mode: arithmetic, comparisons,
      ``math`` functions, constants and other ``numba.njit`` functions are
      allowed; Python objects, dicts and I/O are not.
    - ``dynamic`` (default False): the key is computed once, when the task
      becomes pending (``now`` = ``task.queued_at``). Everything in a task
      record is fixed while the task waits, so the order of the keys is the
      order of the picks (a heap: O(log n) per pick). A key that must see the
      time of the pick (say, ``priority * (now - queued_at)``) sets
      ``dynamic = True``: every pending task's key is recomputed at every pick
      (O(n) per pick).
    - ``clairvoyant`` (default False): only a clairvoyant policy may read
      ``remaining_iterations`` and ``remaining_quantum_s``; it is a benchmark,
      not a deployable policy, and outputs mark it so.
    - ``name``, ``description``: how outputs and ``--help`` show it.
    """

    name: str = ""
    description: str = ""
    clairvoyant: bool = False
    dynamic: bool = False
    #: Array policies draw one uniform per pick; key policies are deterministic.
    randomized: bool = False
    #: Where a loaded policy came from (``file.py:Class``), for worker processes.
    source: str | None = None

    @staticmethod
    def key(task: Any, now: float) -> float:
        raise NotImplementedError("a Policy subclass defines key(task, now)")

    @property
    def policy_id(self) -> int:
        return SCANNED if self.dynamic else KEYED


class ArrayPolicy(Policy):
    """A built-in policy with its own push/pop pair (``policy_push`` / ``policy_pop``)."""

    def __init__(self, name: str, policy_id: int, randomized: bool, description: str) -> None:
        self.name = name
        self._policy_id = policy_id
        self.randomized = randomized
        self.description = description

    @property
    def policy_id(self) -> int:
        return self._policy_id


#: One priority level is worth this much time in the system in ``aging`` (s).
AGING_S = 3600.0


class LeastAttainedService(Policy):
    """Least attained quantum service first (size-blind; favours young jobs)."""

    name = "las"
    description = "least attained quantum service first"

    @staticmethod
    def key(task: Any, now: float) -> float:
        return task.attained_s


class ShortestQuantumTask(Policy):
    """Shortest quantum task first: the task's duration is the backend's estimate."""

    name = "sqf"
    description = "shortest quantum task first"

    @staticmethod
    def key(task: Any, now: float) -> float:
        return task.quantum_s


class StrictPriority(Policy):
    """Highest priority first, first come first served within a priority."""

    name = "priority"
    description = "highest priority first, FIFO within a priority"

    @staticmethod
    def key(task: Any, now: float) -> float:
        return -float(task.priority)


class Aging(Policy):
    """Highest ``priority + (now - arrival) / AGING_S`` first: a job gains one priority level
    per hour in the system, so no job starves.

    Why the job's time in the system and not the task's wait: a job queues once per
    iteration, briefly each time (about 40 s in the small scenario), and starves over
    hundreds of iterations; per-task waits would leave strict priority unchanged
    (measured). At a pick at time ``t`` the ``t / AGING_S`` term is the same for every
    pending task, so the order is that of ``arrival / AGING_S - priority``, a key fixed
    at push time.
    """

    name = "aging"
    description = f"highest priority + time in system / {AGING_S:g} s first"

    @staticmethod
    def key(task: Any, now: float) -> float:
        return task.arrival / AGING_S - task.priority


class RemainingWorkOracle(Policy):
    """Shortest remaining quantum work first (clairvoyant: knows the job's future)."""

    name = "srpt-oracle"
    description = "shortest remaining quantum work first (clairvoyant benchmark)"
    clairvoyant = True

    @staticmethod
    def key(task: Any, now: float) -> float:
        return task.remaining_quantum_s


#: Policy registry: name -> policy (built-ins; ``register_policy`` adds more).
POLICIES: dict[str, Policy] = {p.name: p for p in (
    ArrayPolicy("fifo", FIFO, False, "the task that entered the pending queue first"),
    ArrayPolicy("lifo", LIFO, False, "the task that entered the pending queue last"),
    ArrayPolicy("random", RANDOM, True, "uniformly at random"),
    ArrayPolicy("weighted", WEIGHTED, True,
                "at random, with probability proportional to priority"),
    ArrayPolicy("fifo-swap", FIFO_SWAP, False,
                "the reference simulator's FIFO: index 0, then the newest moved in its place"),
    LeastAttainedService(), ShortestQuantumTask(), StrictPriority(), Aging(),
    RemainingWorkOracle(),
)}
#: The paper's four policies (what ``all`` meant before key policies existed).
PAPER_POLICIES = ("fifo", "lifo", "random", "weighted")
#: The built-in policies with their own push/pop pair.
ARRAY_POLICIES = tuple(name for name, p in POLICIES.items() if isinstance(p, ArrayPolicy))


def policy_label(name: str) -> str:
    """How outputs name a policy: clairvoyant ones are marked (benchmarks, not deployable)."""
    policy = POLICIES.get(name)
    return f"{name} (clairvoyant)" if policy is not None and policy.clairvoyant else name


def register_policy(policy: Policy) -> Policy:
    """Add ``policy`` to ``POLICIES`` under its name (again: replaced if from the same
    source). A different policy under a taken name is an error."""
    check_policy(policy)
    taken = POLICIES.get(policy.name)
    if taken is not None and taken is not policy and (
            taken.source is None or taken.source != policy.source):
        owner = taken.source or ("a built-in policy" if type(taken).__module__ == __name__
                                 else f"{type(taken).__module__}.{type(taken).__qualname__}")
        raise InputError(f"--policy: the name {policy.name!r} of {policy.source or policy!r} is "
                         f"taken by {owner}")
    POLICIES[policy.name] = policy
    return policy


def check_policy(policy: Policy) -> None:
    """Refuse a policy that cannot run: no name, no key, or an undeclared clairvoyant read."""
    where = f"--policy {policy.source or type(policy).__name__}"
    if not isinstance(policy, Policy):
        raise InputError(f"{where}: not a hqsched.Policy subclass or instance "
                         f"(got {type(policy).__name__})")
    if not policy.name or not isinstance(policy.name, str):
        raise InputError(f"{where}: the policy needs a class attribute name = \"...\"")
    if isinstance(policy, ArrayPolicy):
        if policy.policy_id not in ARRAY_IDS:  # the dispatchers would fall through
            raise InputError(f"{where}: array policy id {policy.policy_id} has no push/pop "
                             f"pair (ids {ARRAY_IDS}); write a key policy instead")
        return
    if type(policy).key is Policy.key:
        raise InputError(f"{where}: the policy defines no key(task, now) static method")
    reads = set(_names_read(policy.key)) & set(CLAIRVOYANT_FIELDS)
    if reads and not policy.clairvoyant:
        raise InputError(f"{where}: key reads {', '.join(sorted(reads))}, which only a policy "
                         f"with clairvoyant = True may read")


def _names_read(function: Callable[..., Any]) -> list[str]:
    """Attribute and global names a function's code (nested code included) refers to."""
    code = getattr(function, "__code__", None)
    stack, names = ([code] if code is not None else []), []
    while stack:
        c = stack.pop()
        names.extend(c.co_names)
        stack.extend(k for k in c.co_consts if inspect.iscode(k))
    return names


def resolve_policy(policy: str | Policy | type[Policy]) -> Policy:
    """The policy meant by a registered name, ``file.py:Class``, ``module:Class``, a
    ``Policy`` subclass or instance; a loaded one is registered under its name."""
    if isinstance(policy, type) and issubclass(policy, Policy):
        policy = policy()
    if isinstance(policy, Policy):
        return policy if POLICIES.get(policy.name) is policy else register_policy(policy)
    if not isinstance(policy, str):
        raise InputError(f"--policy: expected a policy name or a Policy, got {policy!r}")
    if policy in POLICIES:
        return POLICIES[policy]
    if ":" not in policy:
        raise InputError(f"--policy: unknown policy {policy!r} (choose from "
                         f"{', '.join(POLICIES)}, or give file.py:Class or module:Class)")
    return register_policy(load_policy(policy))


def load_policy(spec: str) -> Policy:
    """The policy class ``Class`` of ``file.py:Class`` (read now, never from a cache) or of
    an importable ``module:Class``, instantiated, with ``source`` set to the spec."""
    target, _, attribute = spec.rpartition(":")
    if not target or not attribute.isidentifier():
        raise InputError(f"--policy: expected file.py:Class or module:Class, got {spec!r}")
    if target.endswith(".py"):
        module, source = _load_file(Path(target), spec), str(Path(target).resolve())
    else:
        try:
            module, source = importlib.import_module(target), target
        except Exception as exc:  # the user's module: any error is theirs, on one line
            raise InputError(f"--policy {spec}: cannot import {target!r} "
                             f"({type(exc).__name__}: {exc})") from None
    loaded = _LOADED.get((module.__name__, attribute))
    if loaded is not None:  # the same code: the same object (its compiled key is kept)
        return loaded
    value = getattr(module, attribute, None)
    if value is None:
        raise InputError(f"--policy {spec}: {target} defines no {attribute!r}")
    policy = value() if isinstance(value, type) and issubclass(value, Policy) else value
    if not isinstance(policy, Policy):
        raise InputError(f"--policy {spec}: {attribute} is not a hqsched.Policy subclass")
    policy.source = f"{source}:{attribute}"
    check_policy(policy)
    _LOADED[(module.__name__, attribute)] = policy
    return policy


#: Policies loaded in this process, by (module name, attribute); a file's module name
#: includes a hash of its content, so an edited file is loaded anew.
_LOADED: dict[tuple[str, str], Policy] = {}


def _load_file(path: Path, spec: str) -> Any:
    """Execute a policy file as a fresh module (named after its path and content)."""
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise InputError(f"--policy {spec}: cannot read {path} ({exc.strerror})") from None
    digest = hashlib.sha256(str(path.resolve()).encode() + text).hexdigest()[:16]
    name = f"hqsched_user_policy_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    loader_spec = importlib.util.spec_from_file_location(name, path)
    assert loader_spec is not None and loader_spec.loader is not None
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[name] = module  # before executing: pickling and dataclasses look it up
    try:
        loader_spec.loader.exec_module(module)
    except Exception as exc:  # the user's file: any error is theirs, on one line
        del sys.modules[name]
        raise InputError(f"--policy {spec}: {path} failed to load "
                         f"({type(exc).__name__}: {exc})") from None
    return module


def policy_fingerprint(source: str) -> dict[str, str]:
    """Where a user policy comes from and a sha256 of its file (a resumed run refuses
    results computed with other code)."""
    target, _, attribute = source.rpartition(":")
    path = Path(target) if target.endswith(".py") else None
    if path is None:
        module = sys.modules.get(target)
        file = getattr(module, "__file__", None)
        path = Path(file) if file else None
    digest = hashlib.sha256(path.read_bytes()).hexdigest() if path and path.is_file() else ""
    return {"source": source, "sha256": digest}


#: Compiled keys of this process, by policy or routing object.
_COMPILED: dict[int, tuple[Any, Any]] = {}


def compiled_key(policy: Policy) -> Any:
    """The policy's key as the loop calls it: a numba C callback, or the Python function
    under ``NUMBA_DISABLE_JIT``. Array policies get a key that is never called (the loop
    has one signature).

    A user's key is compiled in each process and never cached on disk: numba would key
    a cache on the key's own file only, and a key may call code in other files. The
    built-in keys (this file, no calls, no division by a variable) are cached: about 0.8 s
    less per process, and this file's stamp is all they depend on.

    A C callback cannot raise: an exception in the key (a failed lookup, ...) becomes a
    NaN key, which stops the run with an error, and division by zero follows IEEE rules
    (``error_model="numpy"``: inf or NaN) instead of raising."""
    key = _no_key if isinstance(policy, ArrayPolicy) else type(policy).key
    if numba_config.DISABLE_JIT:  # plain Python: a record element has no attribute access
        return lambda task, now: key(_FieldsAsAttributes(task), now)
    return _compiled(policy, key, KEY_SIGNATURE, lambda reason: (
        f"--policy {policy.source or policy.name}: key(task, now) cannot be compiled by "
        f"numba ({reason}); a key may use arithmetic, math functions, constants, "
        f"njit functions and the task fields {', '.join(TASK.names or ())}"))


def _compiled(owner: Any, key: Any, signature: Any, error: Callable[[str], str]) -> Any:
    """``key`` of ``owner`` (a policy or a routing) as a numba C callback of ``signature``,
    compiled once per process: a built-in's (this file) cached on disk, a user's wrapped by
    ``_nan_on_error``; ``error(reason)`` is the InputError's message if numba refuses it."""
    hit = _COMPILED.get(id(owner))
    if hit is not None and hit[0] is owner:
        return hit[1]
    try:
        if type(owner).__module__ == __name__:  # a built-in: cached, keyed on this file
            compiled = cfunc(signature, cache=True)(key)
        else:
            compiled = cfunc(signature)(_nan_on_error(njit(error_model="numpy")(key)))
    except Exception as exc:  # numba's typing errors are long: keep the telling line
        raise InputError(error(_reason(exc))) from None
    _COMPILED[id(owner)] = (owner, compiled)
    return compiled


def _nan_on_error(key: Any) -> Callable[[Any, Any], float]:
    """``key`` (a policy's ``key(task, now)`` or a routing's ``key(qc, task)``) returning
    NaN where it would raise (compiled inside the C callback)."""
    def safe(first: Any, second: Any) -> float:
        try:
            return key(first, second)
        except Exception:
            return math.nan
    return safe


def _reason(exc: Exception) -> str:
    """The line of a numba error that says what is wrong."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    telling = [line for line in lines if not line.startswith(("Failed in", "During:"))]
    if not telling:
        return type(exc).__name__
    if isinstance(exc, (KeyError, AttributeError)):  # numba's error for a missing field
        return f"the task has no field {telling[0]}"
    return telling[0]


class _FieldsAsAttributes:
    """``task.quantum_s`` on a ``TASK`` (or ``QC_VIEW``) record element outside numba
    (``NUMBA_DISABLE_JIT``)."""

    def __init__(self, record: Any) -> None:
        self._record = record

    def __getattr__(self, name: str) -> Any:
        if name not in (self._record.dtype.names or ()):
            what = "task" if self._record.dtype == TASK else "QC"
            raise AttributeError(f"the {what} has no field {name!r}")
        return self._record[name]


def _no_key(task: Any, now: float) -> float:
    """The key passed with an array policy: never called."""
    return math.nan


# ---------------------------------------------------------------------------
# Routing (docs/platform-features.md section 1): which free QC takes a ready quantum task.

#: What a routing key sees of one free QC eligible for the task: its number (QCs are
#: numbered group by group), its group's index and qubit capacity (``NO_QUBIT_LIMIT``: a
#: group without a limit) and the task's time factor on it (duration / reference duration).
QC_VIEW = np.dtype([("number", I8), ("group", I8), ("qubits", I8), ("factor", F8)])
#: ``QC_VIEW.qubits`` of a group that runs any task (``QCGroup.qubits = None``).
NO_QUBIT_LIMIT = 1_000_001
#: The compiled type of a routing key: ``key(qc, task) -> float``.
ROUTE_SIGNATURE = types.float64(from_dtype(QC_VIEW), from_dtype(TASK))


class Routing:
    """Which free QC takes a quantum task that becomes ready (heterogeneous fleet only).

    Subclass it and define ``key(qc, task) -> float`` (a static method compiled by numba
    like a policy's key): among the free QCs eligible for ``task`` (a ``TASK`` record), the
    one with the smallest key takes it, ties to the lowest-numbered QC. ``qc`` is a
    ``QC_VIEW`` record. A NaN key stops the run with an error, as a policy's does.
    """

    name: str = ""
    description: str = ""
    source: str | None = None

    @staticmethod
    def key(qc: Any, task: Any) -> float:
        raise NotImplementedError("a Routing subclass defines key(qc, task)")


class FastestFree(Routing):
    """The free eligible QC on which the task runs shortest."""

    name = "fastest"
    description = "the free eligible QC that runs the task fastest"

    @staticmethod
    def key(qc: Any, task: Any) -> float:
        return qc.factor


class SmallestFree(Routing):
    """The free eligible QC with the fewest qubits (keep large QCs for large tasks), then
    the fastest: ``qubits + f / (1 + f)`` orders by qubits, then factor (``f / (1 + f)``
    is in [0, 1) and increasing in ``f``)."""

    name = "smallest"
    description = "the free eligible QC with the fewest qubits, then the fastest"

    @staticmethod
    def key(qc: Any, task: Any) -> float:
        return qc.qubits + qc.factor / (1.0 + qc.factor)


class LowestFree(Routing):
    """The lowest-numbered free eligible QC (every key equal: the tie rule decides)."""

    name = "lowest"
    description = "the lowest-numbered free eligible QC"

    @staticmethod
    def key(qc: Any, task: Any) -> float:
        return 0.0


#: Routing registry: name -> routing (built-ins; ``resolve_routing`` adds user classes).
ROUTINGS: dict[str, Routing] = {r.name: r for r in (FastestFree(), SmallestFree(), LowestFree())}


def resolve_routing(routing: str | Routing | type[Routing]) -> Routing:
    """The routing meant by a registered name, a ``Routing`` subclass or instance (a class
    given from Python is registered under its name)."""
    if isinstance(routing, type) and issubclass(routing, Routing):
        routing = routing()
    if isinstance(routing, Routing):
        if not routing.name or not isinstance(routing.name, str):
            raise InputError(f"--routing {type(routing).__name__}: the routing needs a class "
                             f"attribute name = \"...\"")
        if type(routing).key is Routing.key:
            raise InputError(f"--routing {routing.name}: the routing defines no key(qc, task) "
                             f"static method")
        taken = ROUTINGS.get(routing.name)
        if taken is not None and taken is not routing and type(taken) is not type(routing):
            raise InputError(f"--routing: the name {routing.name!r} is taken by another routing")
        ROUTINGS[routing.name] = routing
        return routing
    if not isinstance(routing, str) or routing not in ROUTINGS:
        raise InputError(f"--routing: unknown routing {routing!r} (choose from "
                         f"{', '.join(ROUTINGS)}, or pass a hqsched.Routing subclass)")
    return ROUTINGS[routing]


def compiled_route(routing: Routing) -> Any:
    """The routing's key as the loop calls it: a numba C callback (built-ins cached on
    disk, user keys compiled per process and NaN on error, as ``compiled_key``), or the
    Python function under ``NUMBA_DISABLE_JIT``."""
    key = type(routing).key
    if numba_config.DISABLE_JIT:
        return lambda qc, task: key(_FieldsAsAttributes(qc), _FieldsAsAttributes(task))
    return _compiled(routing, key, ROUTE_SIGNATURE, lambda reason: (
        f"--routing {routing.source or routing.name}: key(qc, task) cannot be compiled by "
        f"numba ({reason}); a key may use arithmetic, math functions, constants, "
        f"njit functions, the QC fields {', '.join(QC_VIEW.names or ())} and the task "
        f"fields"))


class PendingQueue:
    """The pending set of one array policy outside the event loop (tests, notebooks).

    Calls the same functions as the simulator; ``priorities`` lists every
    priority value that may be pushed.
    """

    def __init__(self, name: str, priorities: list[int], capacity: int,
                 rng: np.random.Generator) -> None:
        policy = POLICIES[name]
        if not isinstance(policy, ArrayPolicy):
            raise InputError(f"PendingQueue: {name!r} is a key policy; run it in the simulator")
        self.policy = policy
        self.weights = np.asarray(sorted(set(priorities)), dtype=np.int64)
        self.items = np.empty((len(self.weights), capacity), dtype=np.int64)
        self.counts = np.zeros(len(self.weights), dtype=np.int64)
        self.meta = np.zeros(2, dtype=np.int64)
        self.rng = rng

    def push(self, job: int, priority: int) -> None:
        level = int(np.searchsorted(self.weights, priority))
        policy_push(self.policy.policy_id, self.items, self.counts, self.meta, job, level,
                    self.weights)

    def pop(self) -> int:
        u = self.rng.random() if self.policy.randomized else 0.0
        return int(policy_pop(self.policy.policy_id, self.items, self.counts, self.meta,
                              self.weights, u))

    def __len__(self) -> int:
        return int(self.counts.sum())


# Last line: the compiled functions above are cached keyed on every source they call.
key_caches_on_sources(globals())
