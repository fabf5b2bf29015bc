"""AWS STS: who the caller is (GetCallerIdentity) and temporary credentials (AssumeRole,
GetSessionToken). ``sessions.py`` encodes a session's role in its token; ``api.py`` is the
Query-protocol adapter."""
