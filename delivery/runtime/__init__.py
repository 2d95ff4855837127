"""Stage *runtime*: where messages come from and go back to, and the processes that run the pipeline.

Owns the long-lived worker (``worker``, ``service``), the resources shared by the Lambda handler and the
burst/worker modes (``resources``), settling a batch (``settle``), the ``Queue`` seam with its SQS adapter
and in-memory twin (``queue``, ``sqs``, ``memory_queue``), settings from the environment (``settings``),
the Redis connection (``redis_conn``) and DLQ redrive (``redrive``). This is the composition root: it may
import every other stage; no stage but ``cli`` and the top-level ``lambda_handler`` imports it.
"""
