"""The router stage (SPEC-ROUTER): validate status events, build client payloads, match subscriptions and
send one ``{payload, subscriptionId, targetId}`` envelope per matched target to each client's delivery queue.

    validation.decode_event -> payload.build_callback -> matching.match_event -> plan.plan_record
      -> routing.route_events (batched sends, inbound DLQ)  <- worker.RouterWorker / lambda_handler.handler

Pure modules (no boto3/aiohttp/redis): vocabulary, events, fields, validation, wire, payload, matching, plan.
I/O edges: configs (config lookups), queues (SQS), routing, worker, lambda_handler, settings, observe.

Import from the modules themselves; this package runs no code, so a pure module stays pure.
"""
