"""The services, one package each: cores (pure state machines), service-level operations,
records, errors and the wire adapter (``api.py``)."""
