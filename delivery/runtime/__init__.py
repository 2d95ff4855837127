"""Stage *runtime*: the processes that run the pipeline between the queues (``delivery.queue``).

Owns the long-lived worker (``worker``, ``service``), the resources shared by the Lambda handler and the
burst/worker modes (``resources``), settling a batch (``settle``), settings from the environment
(``settings``) and the checks made on them before a message is touched (``preflight``, ``file_checks``),
the Redis connection (``redis_conn``), DLQ redrive (``redrive``, ``pacing``), dead-letter body offload
(``offload``) and the one-off trial delivery behind ``callbacks send`` (``trial``). This is the composition
root: it may import every other stage; only ``cli``, the top-level ``lambda_handler`` and the router's own
process (its settings and dead-letter body offload) import it.
"""
