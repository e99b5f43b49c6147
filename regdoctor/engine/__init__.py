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

from regdoctor.engine.cases import CaseResult, run_cases, run_catalog_cases
from regdoctor.engine.evaluate import RULE_CRASHED, RULE_INVALID, evaluate
from regdoctor.engine.loader import BUNDLED_RULES_DIR, Catalog, load_catalog, load_rule
from regdoctor.engine.schema import CATEGORIES, Rule, RuleLoadError, RuleValidationError

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
    "evaluate",
    "load_catalog",
    "load_rule",
    "run_cases",
    "run_catalog_cases",
]
