"""Durability of a daemon's state in a data directory: a journal of inputs and engine snapshots.

``journal.py`` appends records with group commit, made durable by the ``writer.py`` process;
``snapshot.py`` writes and reads the engine; ``records.py`` names what is journaled;
``recorder.py`` is the entry point inputs pass through live; ``replay.py`` rebuilds an engine
from a directory. See docs/durability.md.
"""
