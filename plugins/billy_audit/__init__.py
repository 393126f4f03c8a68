"""The audit plugin: a tamper-evident trail of every tool call, with personal data kept out.

Every call leaves entries in one hash chain (SHA-256 links plus an HMAC under a versioned key),
Ed25519-signed checkpoints of the chain head are written to their own table, and
``billy-mcp audit verify`` proves the trail intact or names the first entry that is not.
See ``docs/audit.md``.
"""

__version__ = "0.1.0"
