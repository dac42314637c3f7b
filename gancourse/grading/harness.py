"""Inside the sandbox: what keeps an official check's verdict the check's own (see docs/grading.md).

``Guard`` snapshots, before any student code runs, every function, class and module that the checks could
reach through a module (the package, NumPy, PyTorch, SciPy and the standard modules they use), the checks'
constant tensors, the package's data (every name of a check module, the public constants of the others), ``sys.modules``/``sys.path``, signal handlers and the interpreter's hooks. Before each check
it puts back whatever student code changed, and after the check it verifies that nothing changed again (else
the verdict is void). During the check it hears every name set on a watched module (each becomes a
``WatchedModule``) and compares the core classes (the package's, PyTorch's tensors, modules and optimisers)
each time student code returns, so that a change student code makes and undoes before the check ends is
caught too.
``Tracer`` is the profile hook that runs while an exercise's cell and its check run: it knows which code is
the student's, so it can tell when an answer calls one of the package functions it may not (own_code.py),
and when student code returns into the check (the moment to verify).
"""

from __future__ import annotations

import builtins
import copy
import gc
import operator
import os
import signal
import sys
import threading
import types
import warnings

import numpy as np
import torch

WATCHED = (
    "gancourse", "numpy", "torch", "scipy", "mlxtend", "builtins", "math", "cmath", "operator", "functools",
    "itertools", "collections", "copy", "abc", "numbers", "types", "inspect", "contextlib", "os", "posixpath",
    "sys", "io", "pathlib", "tempfile", "shutil", "random", "time", "threading", "signal", "gc", "json", "pickle",
)  # fmt: skip
CORE = ("gancourse.", "torch.nn.modules.", "torch.optim.", "torch._tensor", "torch.nn.parameter", "torch.autograd.")
CORE_MODULES = (  # besides the package: where the checks' comparisons and arithmetic live
    "numpy", "numpy.linalg", "numpy.testing", "numpy._core.numeric", "numpy._core.fromnumeric", "numpy._core.multiarray",
    "torch", "torch.testing", "torch.testing._comparison", "torch.nn.functional", "torch.functional", "torch.linalg",
    "torch.special", "scipy.linalg", "math", "builtins", "operator", "copy",
)  # fmt: skip
UNWATCHED = {  # hooks the interpreter calls and IPython installs, which no check relies on
    "sys": {"displayhook", "excepthook", "breakpointhook", "unraisablehook"},
    "threading": {"excepthook"},
}
CHECKS = "gancourse.checks"
SIGNALS = tuple(s for s in signal.valid_signals() if s not in (signal.SIGKILL, signal.SIGSTOP))
FUNCTION_PARTS = ("__code__", "__defaults__", "__kwdefaults__")


def _step_wrapper():
    """The code of the wrapper PyTorch puts around an optimiser class's ``step`` the first time one is made."""
    hook = getattr(torch.optim.Optimizer, "profile_hook_step", None)
    consts = getattr(getattr(hook, "__code__", None), "co_consts", ())
    return next((c for c in consts if isinstance(c, types.CodeType) and c.co_name == "wrapper"), None)


_STEP_WRAPPER = _step_wrapper()
_listener = None  # the Tracer's ear: called with (module, name, value) for each name set or deleted on a module


class WatchedModule(types.ModuleType):
    """A module the grader hears names being set on or deleted from."""

    def __setattr__(self, name, value):
        if _listener is not None:
            _listener(self, name, value)
        super().__setattr__(name, value)

    def __delattr__(self, name):
        if _listener is not None:
            _listener(self, name, None)
        super().__delattr__(name)


def _is_watched(name) -> bool:
    return isinstance(name, str) and name.partition(".")[0] in WATCHED


def _is_code(value) -> bool:
    """Functions, classes, modules and descriptors: what behaviour hangs on (data such as counters may change)."""
    return callable(value) or isinstance(value, types.ModuleType) or hasattr(type(value), "__get__")


def _force(action, *args) -> None:
    try:
        action(*args)
    except (AttributeError, TypeError):  # an immutable type: it cannot have been changed either
        pass


def _is_data(module_name: str, key: str, value) -> bool:
    """The package's data a check's verdict can hang on: a check module's every name (its cases and tables), and
    the other modules' public constants (``metrics.HQ_STDS``, ``data.RING_STD``, ``defaults.WGAN``...)."""
    if key.startswith("__") or _is_code(value) or isinstance(value, (torch.Tensor, np.ndarray)):
        return False
    return module_name.startswith(CHECKS) or (module_name.startswith("gancourse") and not key.startswith("_"))


def _same(a, b, depth: int = 0) -> bool:
    """Deep equality of a snapshot's data: containers by their items, objects by their attributes, code by identity."""
    if a is b:
        return True
    if type(a) is not type(b) or depth > 20:
        return False
    if isinstance(a, torch.Tensor):
        return a.shape == b.shape and a.dtype == b.dtype and bool(torch.equal(a, b))
    if isinstance(a, np.ndarray):
        return a.shape == b.shape and a.dtype == b.dtype and bool(np.array_equal(a, b))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y, depth + 1) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k], depth + 1) for k in a)
    if isinstance(a, float):
        return a == b or (a != a and b != b)  # NaN equals NaN here
    if isinstance(a, (int, complex, str, bytes, bool, frozenset, set, range, type(None))):
        return a == b
    if _is_code(a):
        return False  # not the same object
    if hasattr(a, "__dict__"):
        return _same(vars(a), vars(b), depth + 1)
    return a == b


class Guard:
    """The state the checks rely on, snapshotted before student code runs; restored before and verified after."""

    def __init__(self):
        self._id, self._map, self._list, self._get = id, map, list, operator.attrgetter
        self._zip, self._vars, self._builtins_dict = zip, vars, vars(builtins)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._snapshot()

    def _snapshot(self) -> None:
        self.modules = {
            n: m for n, m in list(sys.modules.items()) if _is_watched(n) and isinstance(m, types.ModuleType)
        }
        self.tables = []  # (label, owner, mapping, keys, values, ids, core)
        classes, functions = {}, {}
        for name, module in self.modules.items():
            d = vars(module)
            keys = [k for k, v in list(d.items()) if _is_code(v) and k not in UNWATCHED.get(name, ())]
            core = name.startswith("gancourse") or name in CORE_MODULES
            self._table(name, module, keys, core)
            for k in keys:
                v = d[k]
                if isinstance(v, type) and _is_watched(getattr(v, "__module__", None)):
                    classes[id(v)] = v
                elif isinstance(v, types.FunctionType):
                    functions[id(v)] = (f"{name}.{k}", v, core or functions.get(id(v), ("", v, False))[2])
        for cls in classes.values():
            label = f"{cls.__module__}.{cls.__qualname__}"
            core = label.startswith(CORE)
            self._table(label, cls, [k for k, v in list(vars(cls).items()) if _is_code(v)], core)
            for k, v in list(vars(cls).items()):
                if isinstance(v, types.FunctionType):
                    functions[id(v)] = (f"{label}.{k}", v, core)
        self.classes = list(classes.values())
        self.class_keys = {c: set(vars(c)) for c in self.classes}
        self.function_names = [n for n, _, _ in functions.values()]
        self.functions = [f for _, f, _ in functions.values()]
        self.core_functions = [f for _, f, core in functions.values() if core]
        self.function_values = {a: list(map(operator.attrgetter(a), self.functions)) for a in FUNCTION_PARTS}
        self.module_values = {
            m: dict(zip(keys, values)) for _, m, _, keys, values, _, _ in self.tables[: len(self.modules)]
        }
        self.builtin_names = set(vars(builtins))
        self.known_keys = {n: set(vars(m)) for n, m in self.modules.items()}
        self.constants = [  # the checks' inputs: tensors and arrays a cheat could zero in place
            (f"{n}.{k}", v, v.detach().clone() if isinstance(v, torch.Tensor) else v.copy())
            for n, m in self.modules.items()
            if n.startswith(CHECKS)
            for k, v in list(vars(m).items())
            if isinstance(v, (torch.Tensor, np.ndarray))
        ]
        self.data = [  # the package's data: deep copies, compared and put back by value
            (f"{n}.{k}", m, k, copy.deepcopy(v))
            for n, m in self.modules.items()
            if n.startswith("gancourse")
            for k, v in list(vars(m).items())
            if _is_data(n, k, v)
        ]
        self.data_keys = {}
        for _, module, key, saved in self.data:
            self.data_keys.setdefault(module, {})[key] = saved
        self.hooks = [  # PyTorch's global hooks (every module's forward, every optimiser's step): data, not names
            (f"{n}.{k}", v, list(v.items()))
            for n, m in self.modules.items()
            if n.startswith("torch.")
            for k, v in list(vars(m).items())
            if k.startswith("_global") and isinstance(v, dict)
        ]
        self.lists = {"path": sys.path, "meta_path": sys.meta_path, "path_hooks": sys.path_hooks}
        self.list_values = {k: list(v) for k, v in self.lists.items()}
        self.streams = (sys.stdout, sys.stderr, sys.stdin)
        self.handlers = {s: signal.getsignal(s) for s in SIGNALS}
        self.gc_callbacks = list(gc.callbacks)
        self.environ = dict(os.environ)
        self.cwd = os.getcwd()
        self.default_dtype = torch.get_default_dtype()
        self.errstate = np.geterr()
        for module in self.modules.values():  # from now on, every name set on a module is heard
            if type(module) is types.ModuleType and module is not sys:  # importlib makes new modules as type(sys)
                module.__class__ = WatchedModule
        self.baseline = self.state()

    def _benign(self, owner, key: str, new, old) -> bool:
        """PyTorch's own change on first use: an optimiser class's ``step`` wrapped in its profiling hook."""
        if key != "step" or not isinstance(owner, type) or not issubclass(owner, torch.optim.Optimizer):
            return False
        if getattr(new, "__code__", None) is not _STEP_WRAPPER or getattr(new, "__wrapped__", None) is not old:
            return False
        try:
            return any(cell.cell_contents is old for cell in new.__closure__ or ())
        except ValueError:
            return False

    def _accept(self, table: int, index: int, value) -> None:
        """Take a benign change into the snapshot."""
        label, owner, mapping, keys, values, ids, core = self.tables[table]
        values[index], ids[index] = value, id(value)
        self.baseline[table][index] = id(value)

    def _table(self, label: str, owner, keys: list, core: bool) -> None:
        mapping = vars(owner)
        values = [mapping[k] for k in keys]
        self.tables.append((label, owner, mapping, keys, values, self._ids(values), core))

    def _ids(self, values) -> list[int]:
        return self._list(self._map(self._id, values))

    # ------------------------------------------------------------------ verify

    def state(self, core: bool = False) -> list[list[int]]:
        """The identities of everything watched (or only the core classes and functions), now."""
        ids = [self._ids(self._map(t[2].get, t[3])) for t in self.tables if t[6] or not core]
        functions = self.core_functions if core else self.functions
        return ids + [self._ids(self._map(self._get(part), functions)) for part in FUNCTION_PARTS]

    def changed(self, since: list[list[int]] | None = None, core: bool = False) -> str | None:
        """The first watched name that differs from ``since`` (default: the snapshot), or None."""
        now = self.state(core)
        since = self.baseline if since is None else since
        if now == since:
            return None
        tables = [i for i, t in enumerate(self.tables) if t[6] or not core]
        for position, (table, a, b) in enumerate(zip(tables, now, since)):
            if a == b:
                continue
            label, owner, mapping, keys, values, _, _ = self.tables[table]
            for index, (i, j) in enumerate(zip(a, b)):
                if i != j:
                    if not self._benign(owner, keys[index], mapping.get(keys[index]), values[index]):
                        return f"{label}.{keys[index]}"
                    self._accept(table, index, mapping.get(keys[index]))
                    since[position][index] = i
        core_ids = {id(f) for f in self.core_functions}
        names = [n for n, f in zip(self.function_names, self.functions) if not core or id(f) in core_ids]
        for index, part in enumerate(FUNCTION_PARTS):
            a, b = now[len(tables) + index], since[len(tables) + index]
            if a != b:
                return f"{next(n for n, i, j in zip(names, a, b) if i != j)}.{part}"
        return None

    def interception(self) -> str | None:
        """A PyTorch mode or global hook that would see (and could rewrite) every operation of a check."""
        if torch._C._len_torch_function_stack() or torch._C._len_torch_dispatch_stack():
            return "a PyTorch function or dispatch mode (it intercepts every operation)"
        for label, mapping, items in self.hooks:
            if len(mapping) != len(items):
                return f"{label} (a global hook)"
        return None

    def changed_fully(self) -> str | None:
        """``changed`` plus the slower checks: modules, sys.path & co, added names, the checks' constants, hooks."""
        found = self.changed()
        if found:
            return found
        for name, module in self.modules.items():
            if sys.modules.get(name) is not module:
                return f"sys.modules[{name!r}]"
            shadows = (set(vars(module)) - self.known_keys[name]) & self.builtin_names
            if shadows:
                return f"{name}.{sorted(shadows)[0]} (a new name hiding a builtin)"
        for cls in self.classes:
            added = self._added(cls)
            if added:
                return f"{cls.__module__}.{cls.__qualname__}.{added[0]} (a method added)"
        for label, value, saved in self.constants:
            same = torch.equal(value, saved) if isinstance(value, torch.Tensor) else np.array_equal(value, saved)
            if not same:
                return f"{label} (its values)"
        for label, module, key, saved in self.data:
            if key not in vars(module) or not _same(vars(module)[key], saved):
                return f"{label} (its value)"
        for label, mapping, items in self.hooks:
            if [(k, id(v)) for k, v in mapping.items()] != [(k, id(v)) for k, v in items]:
                return f"{label} (a global hook)"
        intercepted = self.interception()
        if intercepted:
            return intercepted
        for label, current in self.lists.items():
            if current != self.list_values[label] or getattr(sys, label) is not current:
                return f"sys.{label}"
        if sys.gettrace() is not None:
            return "sys.settrace"
        return None

    def _added(self, cls: type) -> list[str]:
        """Methods and other descriptors a class has gained since the snapshot."""
        known = self.class_keys[cls]
        return [k for k, v in list(vars(cls).items()) if k not in known and _is_code(v)]

    def heard(self, module, name: str, value) -> str | None:
        """What a name set on a module changes (None when it changes nothing watched, e.g. a lazy submodule)."""
        data = self.data_keys.get(module, {})
        if name in data and not _same(value, data[name]):
            return f"{module.__name__}.{name}"
        values = self.module_values.get(module)
        if values is None:
            return None
        if name in values and value is not values[name]:
            return f"{module.__name__}.{name}"
        if name not in values and name in self.builtin_names and module.__name__.startswith("gancourse"):
            return f"{module.__name__}.{name} (a new name hiding a builtin)"
        return None

    # ------------------------------------------------------------------ restore

    def restore(self) -> list[str]:
        """Put back everything student code changed since the snapshot; the names it had changed."""
        fixed = []
        builtins_table = next(t for t in self.tables if t[0] == "builtins")
        for k, v in self._zip(builtins_table[3], builtins_table[4]):  # first, with primitives bound at the snapshot
            if self._builtins_dict.get(k) is not v:
                fixed.append(f"builtins.{k}")
                self._builtins_dict[k] = v
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for table, (label, owner, mapping, keys, values, _, _) in enumerate(self.tables):
                for index, (k, v) in enumerate(zip(keys, values)):
                    if mapping.get(k) is not v:
                        if self._benign(owner, k, mapping.get(k), v):
                            self._accept(table, index, mapping.get(k))
                            continue
                        fixed.append(f"{label}.{k}")
                        _force(type.__setattr__ if isinstance(owner, type) else object.__setattr__, owner, k, v)
                if isinstance(owner, type):
                    for k in self._added(owner):
                        fixed.append(f"{label}.{k}")
                        _force(type.__delattr__, owner, k)
            for part, values in self.function_values.items():
                for name, f, v in zip(self.function_names, self.functions, values):
                    if getattr(f, part) is not v:
                        fixed.append(f"{name}.{part}")
                        setattr(f, part, v)
            for name, module in self.modules.items():
                if sys.modules.get(name) is not module:
                    fixed.append(f"sys.modules[{name!r}]")
                    sys.modules[name] = module
                for k in (set(vars(module)) - self.known_keys[name]) & self.builtin_names:
                    fixed.append(f"{name}.{k}")
                    object.__delattr__(module, k)
                if isinstance(module, types.ModuleType) and type(module) is types.ModuleType and module is not sys:
                    module.__class__ = WatchedModule
            for label, value, saved in self.constants:
                with torch.no_grad():
                    if isinstance(value, torch.Tensor) and not torch.equal(value, saved):
                        fixed.append(label)
                        value.copy_(saved)
                    elif isinstance(value, np.ndarray) and not np.array_equal(value, saved):
                        fixed.append(label)
                        value[...] = saved
            for label, module, key, saved in self.data:
                if key not in vars(module) or not _same(vars(module)[key], saved):
                    fixed.append(label)
                    object.__setattr__(module, key, copy.deepcopy(saved))
            for label, mapping, items in self.hooks:
                if [(k, id(v)) for k, v in mapping.items()] != [(k, id(v)) for k, v in items]:
                    fixed.append(f"{label} (a global hook)")
                    mapping.clear()
                    mapping.update(items)
            while torch._C._len_torch_function_stack():
                fixed.append("a PyTorch function mode")
                torch._C._pop_torch_function_stack()
            while torch._C._len_torch_dispatch_stack():
                fixed.append("a PyTorch dispatch mode")
                torch._C._pop_torch_dispatch_stack()
            for label, current in self.lists.items():
                if getattr(sys, label) is not current or current != self.list_values[label]:
                    fixed.append(f"sys.{label}")
                    current[:] = self.list_values[label]
                    setattr(sys, label, current)
            sys.path_importer_cache.clear()
        self._reset_interpreter()
        return fixed

    def _reset_interpreter(self) -> None:
        """Streams, signal handlers, timers, hooks, the environment and PyTorch's and NumPy's global modes."""
        sys.stdout, sys.stderr, sys.stdin = self.streams
        for s, handler in self.handlers.items():
            if signal.getsignal(s) is not handler and handler is not None:
                try:
                    signal.signal(s, handler)
                except (OSError, ValueError, TypeError):
                    pass
        for timer in (signal.ITIMER_VIRTUAL, signal.ITIMER_PROF):
            signal.setitimer(timer, 0)
        sys.settrace(None)
        sys.setprofile(None)
        threading.settrace(None)
        threading.setprofile(None)
        gc.callbacks[:] = self.gc_callbacks
        gc.enable()
        if dict(os.environ) != self.environ:
            os.environ.clear()
            os.environ.update(self.environ)
        os.chdir(self.cwd)
        torch.set_grad_enabled(True)
        torch.set_default_dtype(self.default_dtype)
        torch.autograd.set_detect_anomaly(False)
        np.seterr(**self.errstate)


class Tracer:
    """A profile hook: which code is the student's, calls into forbidden package code, returns into the check."""

    def __init__(self, guard: Guard):
        global _listener
        self.guard = guard
        self.student: set[int] = set()
        self._keep: list = []  # the student's code objects stay alive, so their ids stay theirs
        self.forbidden: dict[int, str] = {}
        self.forbidden_objects: list[tuple[object, str]] = []
        self.depth = 0
        self.hits: list[str] = []
        self.writes: list[str] = []
        self.tampered: str | None = None
        self.verify = False
        self.entry: list[list[int]] = []
        self._setprofile, self._getprofile, self._id, self._isinstance = sys.setprofile, sys.getprofile, id, isinstance
        self._hook, self._ear = self.hook, self.hear  # bound once, compared by identity
        self._module_dict = vars(sys.modules[__name__])
        _listener = self._ear

    def add_student(self, code: types.CodeType) -> None:
        """Mark ``code`` and every code object nested in it as the student's."""
        stack = [code]
        while stack:
            c = stack.pop()
            if id(c) not in self.student:
                self.student.add(id(c))
                self._keep.append(c)
                stack.extend(k for k in c.co_consts if isinstance(k, types.CodeType))

    def set_forbidden(self, names: dict[str, object]) -> None:
        """The package's implementations of the exercise that runs now: {dotted name: function or class}."""
        self.forbidden, self.forbidden_objects = {}, []
        for name, obj in names.items():
            self.forbidden_objects.append((obj, name))
            parts = vars(obj).values() if isinstance(obj, type) else [obj]
            for part in parts:
                func = getattr(part, "__func__", None) or getattr(part, "fget", None) or part
                code = getattr(func, "__code__", None)
                if isinstance(code, types.CodeType):
                    self.forbidden[id(code)] = name

    def implements(self, value) -> str | None:
        """The forbidden name ``value`` is (or wraps, or is an instance of), else None."""
        for candidate in (value, getattr(value, "func", None), getattr(value, "__wrapped__", None)):
            for obj, name in self.forbidden_objects:
                if candidate is obj or (isinstance(obj, type) and self._isinstance(candidate, obj)):
                    return name
        return None

    def hear(self, module, name: str, value) -> None:
        if self.depth and self.verify:
            what = self.guard.heard(module, name, value)
            if what:
                self.writes.append(what)

    def hook(self, frame, event, arg) -> None:
        if event == "call":
            key = self._id(frame.f_code)
            if key in self.student:
                if self.depth == 0 and self.verify:
                    self.entry = self.guard.state(core=True)
                self.depth += 1
            elif key in self.forbidden and frame.f_back is not None and self._id(frame.f_back.f_code) in self.student:
                self.hits.append(self.forbidden[key])  # called by the student's code itself
        elif event == "return" and self._id(frame.f_code) in self.student:
            self.depth -= 1
            if self.depth == 0:
                name = self.implements(arg)
                if name:
                    self.hits.append(name)
                if self.verify and self.tampered is None:
                    self.tampered = self._what_changed()

    def _what_changed(self) -> str | None:
        """What the call into student code that just returned changed: names set, core classes, the grader's ear."""
        if self.writes:
            return self.writes[0]
        if self._module_dict.get("_listener") is not self._ear:
            return "the grader's watch on module names"
        return self.guard.interception() or self.guard.changed(self.entry, core=True)

    def start(self, *, verify: bool) -> None:
        self.depth, self.hits, self.writes, self.tampered, self.verify = 0, [], [], None, verify
        self._setprofile(self._hook)

    def stop(self) -> None:
        if self._getprofile() is not self._hook and self.tampered is None:
            self.tampered = "sys.setprofile (the grader's call tracing)"
        self._setprofile(None)
        if self.verify and self.tampered is None and self.writes:
            self.tampered = self.writes[0]
