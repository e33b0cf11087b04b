"""dueprocess: an event-sourced disciplinary workflow engine.

The package is the repository root: ``domain`` (pure model), ``workflows``
(thin Temporal workflows), ``activities`` (all I/O), ``worker`` (composition root).
"""
