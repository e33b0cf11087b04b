"""Due-process rules as data: one predicate per rule, asked by decide() and by the audit.

``model`` defines a rule; one module per family holds the rules (``intake``, ``evidence``,
``notice``, ``hearing``, ``decision``, ``outcome``, ``timing``, ``records``, ``process``);
``catalogue`` lists each exactly once and judges a step.
"""

from __future__ import annotations

# The case package imports the deciders, which import these rules; loading it first lets
# ``import dueprocess.domain.rules`` work on its own (the rules need the case's events).
from .. import case as _case  # noqa: F401
