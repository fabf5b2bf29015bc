"""The broker cores: synchronous state machines for queues, topics, streams and buses.

No I/O, no waiting and no wall clock here: each core takes calls and timer callbacks on the
mesh's clock, mutates its state, returns results and emits effects.
"""
