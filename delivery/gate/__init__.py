"""Stage *gate*: admission through the Redis Lua token bucket and circuit breaker (SPEC C as changed by P8).

Owns the two Lua scripts (``lua/``), the adapter that runs them (``scripts``), the pure parsing of their
replies (``reply``), the admit/record step of the pipeline (``admission``) and the in-process per-target
limiter (``limiter``). It may import the pure top-level modules (``models``, ``errors``, ``backoff``,
``stages``, ``verdicts``), ``delivery.config.client`` and ``delivery.observe.logs``; redis only in
``scripts``.
"""
