"""delivery — the webhook delivery engine. One message's path, folder by folder:

    runtime (queue: SQS / Lambda event) -> envelope (decode) -> config (client config, app map)
      -> signing -> gate (Redis Lua bucket + breaker) -> transport (HTTPS, mTLS, pinning)
      -> classify -> verdicts / backoff / dead_letter (settle) -> observe (logs, metrics)

The top level holds the pipeline (``pipeline``, ``attempt``, ``routing``) and its pure stages (``stages``,
``envelope``, ``signing``, ``classify``, ``backoff``, ``verdicts``, ``dead_letter``, ``models``,
``errors``); ``lambda_handler`` is the AWS entry point. The router stage (SPEC-ROUTER) lives in ``router``.
"""
