"""Stage *queue*: where messages come from and go back to.

The ``Queue`` seam (``seam``) and its adapters: SQS (``sqs``, over ``sqs_wire``'s SigV4-signed JSON requests
on the event loop — ``sigv4`` — or a boto3 client) and the in-memory twin (``memory``); SQS's limits stated
once (``sqs_limits``: 256 KiB a message, 1 MiB and 10 entries a batch, its character set) and the one batcher
every send path uses (``batches``); the delivery-queue naming contract (``names``). Used by ``runtime``
(worker, settle, redrive), the ``router`` (fan-out) and ``deploy``; imports no other stage.
"""
