"""Stage *config*: what a client asked for, loaded, validated and cached (SPEC A, B).

Owns the client-config models and their rules (``client``, ``rules``, ``json_types``), the stores a config
or the applications map is read from (``sources`` for directories and files, ``aws`` for S3 and SSM,
``store`` to pick one from the environment), the TTL caches in front of them (``cache``) and the
event-loop-side hold on those caches (``lookups``). It may import the top-level ``delivery.errors`` and
``delivery.observe.logs``; boto3 only inside ``aws``. It never imports the gate, the transport or the runtime.
"""
