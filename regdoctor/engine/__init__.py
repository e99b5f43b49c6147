"""The rule engine: declarative YAML rules judge observations, nothing else.

```python
from regdoctor.engine import load_catalog, evaluate, Catalog, Rule

catalog = load_catalog(extra_dirs=[Path("~/.config/regdoctor/rules").expanduser()])
findings = evaluate(catalog, target, observations)  # sorted; findings[0].leading
```

Rules never touch the network and never run code; this package imports no network
library. See ``docs/rules.md`` for the catalog and ``docs/observations.md`` for what rules
may match on.
"""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING, Any

from regdoctor.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from regdoctor.engine.cases import CaseResult, run_cases, run_catalog_cases
    from regdoctor.engine.categories import CATEGORIES
    from regdoctor.engine.evaluate import RULE_CRASHED, RULE_INVALID, evaluate
    from regdoctor.engine.explain import TextMatch
    from regdoctor.engine.loader import BUNDLED_RULES_DIR, Catalog, load_catalog, load_rule
    from regdoctor.engine.schema import Rule, RuleLoadError, RuleValidationError

#: name -> the module that defines it (``explain`` itself is a submodule:
#: ``from regdoctor.engine.explain import explain``). Imported on first use (PEP 562), so that
#: ``regdoctor explain`` pays neither for the rule model and its loader (it reads the
#: compiled rule cache) nor for the cases runner.
_EXPORTS: dict[str, str] = {
    "BUNDLED_RULES_DIR": "loader",
    "CATEGORIES": "categories",
    "CaseResult": "cases",
    "Catalog": "loader",
    "RULE_CRASHED": "evaluate",
    "RULE_INVALID": "evaluate",
    "evaluate": "evaluate",
    "Rule": "schema",
    "RuleLoadError": "schema",
    "RuleValidationError": "schema",
    "TextMatch": "explain",
    "load_catalog": "loader",
    "load_rule": "loader",
    "run_cases": "cases",
    "run_catalog_cases": "cases",
}

__all__ = [
    "BUNDLED_RULES_DIR",
    "CATEGORIES",
    "RULE_CRASHED",
    "RULE_INVALID",
    "CaseResult",
    "Catalog",
    "Rule",
    "RuleLoadError",
    "RuleValidationError",
    "TextMatch",
    "evaluate",
    "load_catalog",
    "load_rule",
    "run_cases",
    "run_catalog_cases",
]


class _Engine(types.ModuleType):
    """``evaluate`` is both a submodule and a function: importing the submodule
    (``import regdoctor.engine.evaluate``) sets the package's attribute to the module;
    the function takes its place, as ``from regdoctor.engine import evaluate`` expects."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "evaluate" and isinstance(value, types.ModuleType):
            value = value.evaluate
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Engine


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
