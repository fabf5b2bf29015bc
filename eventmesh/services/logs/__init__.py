"""CloudWatch Logs: log groups and streams, what Lambda functions write, and the reads users run.

* ``groups.py``: the log group and stream cores (events in time order, retention, merged reads).
* ``service.py``: the operations (CreateLogGroup, PutLogEvents, GetLogEvents, FilterLogEvents, …),
  :func:`~eventmesh.services.logs.service.install` (takes the ``LogEvents`` effects Lambda emits)
  and :func:`~eventmesh.services.logs.service.recent_log_lines` (a function's latest lines).
* ``filters.py``: filter patterns of FilterLogEvents; ``api.py``: the JSON 1.1 wire adapter.
"""

from eventmesh.services.logs.service import LogLine, install, recent_log_lines

__all__ = ["LogLine", "install", "recent_log_lines"]
