"""Lambda event source mappings: SQS and Kinesis pollers.

``service`` holds the Create/Get/List/Update/Delete logic, ``mapping`` the resource and its
validation, ``queue_poller`` / ``stream_poller`` the synchronous polling cores, ``records`` the
exact Lambda event shapes and ``batching`` the batch size / window / 6 MB rules they share.
"""
