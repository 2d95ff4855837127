"""Stage *transport*: one HTTPS POST to a target, with optional mTLS and SPKI pinning (SPEC D).

Owns the aiohttp transport (``https``), the client TLS material and where it is read from (``material``,
``sources``, ``provider``), the SSL contexts (``contexts``), certificate pinning and SPKI hashing
(``pinning``, ``spki``) and the mapping of TLS failures to delivery results (``tls_errors``). It may import
``delivery.models``, ``delivery.errors`` and ``delivery.observe.logs``; it knows nothing of queues, the
gate or client configs beyond the target fields it is handed.
"""
