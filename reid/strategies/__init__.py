"""Continual strategies, one module each; every module of this package is imported here, so a
new strategy is one new file that registers itself (see docs/extending.md).

Kept apart from the evaluation metrics (Avalanche's split): a strategy only says how a phase
trains.
"""

from __future__ import annotations

import copy
import importlib
import pkgutil
from typing import Any

from reid.helpers import deep_merge
from reid.strategies.base import (
    STRATEGIES,
    STRATEGY_STATE,
    Batch,
    ConsolidatingStrategy,
    LossParts,
    OwnedModule,
    PhaseContext,
    StepContext,
    Strategy,
    StrategyStateError,
    make_strategy,
    register_strategy,
)

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    importlib.import_module(f"{__name__}.{_module}")


def _ordered() -> list[type[Strategy]]:
    return sorted((cls for _, cls in STRATEGIES.items()), key=lambda cls: (cls.order, cls.name))


def sequential_methods() -> list[str]:
    """Names `method.name` accepts: strategies trained phase after phase."""
    return [cls.name for cls in _ordered() if cls.sequential]


def comparison_methods() -> list[str]:
    """Names `comparison.methods` accepts: every strategy and its variants, in table order."""
    return [name for cls in _ordered() for name in (cls.name, *cls.variants)]


def method_labels() -> dict[str, str]:
    """Report label of every comparison method."""
    labels = {}
    for cls in _ordered():
        labels[cls.name] = cls.label
        labels.update({name: label for name, (label, _) in cls.variants.items()})
    return labels


def comparison_strategy(name: str) -> type[Strategy]:
    """The strategy class a comparison method (a strategy or one of its variants) trains."""
    for cls in _ordered():
        if name == cls.name or name in cls.variants:
            return cls
    STRATEGIES.get(name)  # raises the one-line error listing the registered names
    raise AssertionError(name)


def comparison_section(method: dict[str, Any], name: str) -> dict[str, Any]:
    """The `method` section a comparison method trains with (a variant's overrides applied)."""
    cls = comparison_strategy(name)
    overrides = cls.variants[name][1] if name in cls.variants else {}
    return deep_merge({**copy.deepcopy(method), "name": cls.name}, overrides)


def hashed_section(method: dict[str, Any]) -> dict[str, Any]:
    """The part of a `method` section its strategy reads (the rest stays out of run hashes)."""
    cls = STRATEGIES.get(method["name"])
    keys = [key for key in cls.reads if key in method]
    section = {"name": method["name"], **{key: copy.deepcopy(method[key]) for key in keys}}
    if cls.revision > 1:
        section["revision"] = cls.revision
    return section


__all__ = [
    "STRATEGIES",
    "STRATEGY_STATE",
    "Batch",
    "ConsolidatingStrategy",
    "LossParts",
    "OwnedModule",
    "PhaseContext",
    "StepContext",
    "Strategy",
    "StrategyStateError",
    "comparison_methods",
    "comparison_section",
    "comparison_strategy",
    "hashed_section",
    "make_strategy",
    "method_labels",
    "register_strategy",
    "sequential_methods",
]
