"""Stage *manage*: the management commands that edit client configs and the applications map (SPEC G).

Owns the pure edits of a config document (``edits``), the commands built on them (``commands``) and
their I/O — choosing a store, load → edit → validate → save, output (``persist``). It may import
``delivery.config``, ``delivery.errors``, ``delivery.transport.spki`` and ``delivery.transport.egress``
(writes are checked against the egress policy); nothing of the delivery path.
"""
