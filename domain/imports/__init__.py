"""Import of past cases and memberships recorded elsewhere (``dueprocess import FILE``).

``model``: the documented file format (pydantic; commands in their usual shapes);
``plan``: the pure planner that judges every step with the same decider and rules a live
case meets and turns the file into envelopes, or refuses it naming the record and field.
"""
