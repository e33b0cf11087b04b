"""Import of past cases and memberships recorded elsewhere (``dueprocess import FILE``).

``model``: the documented file format (pydantic; commands in their usual shapes);
``plan``: the pure planner that replays every step with the same decider and rules a live
case meets and turns the file into envelopes, or refuses it naming the record and field;
``findings``: which rules an imported step breaks, and whether that makes the record
unreadable (the file is refused) or a due-process breach (imported, listed, audited).
"""
