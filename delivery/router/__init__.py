"""The router stage (SPEC-ROUTER): validate status events, build client payloads, match subscriptions and
send one ``{payload, subscriptionId, targetId}`` envelope per matched target to each client's delivery queue.

    validation.decode_event -> payload.build_callback -> matching.match_event -> plan.plan_record
      -> routing.route_events (batched sends, inbound DLQ)  <- worker.RouterWorker / lambda_handler.handler

Pure modules (no boto3/aiohttp/redis): vocabulary, events, fields, validation, payload, matching, plan.
I/O edges: configs (config lookups), queues (SQS), routing, worker, lambda_handler, settings, observe.
"""

from delivery.router.configs import ConfigLookup, RoutesCache
from delivery.router.events import (
    Channel,
    ChannelStatusEvent,
    EventIssue,
    MessageStatusEvent,
    Rejection,
    RoutingPlan,
    StatusEvent,
)
from delivery.router.matching import ClientRoutes, Match, compile_routes, match_event
from delivery.router.payload import Callback, build_callback, envelope_body, idempotency_key, message_link
from delivery.router.plan import Delivery, Fate, RecordResult, RouteReport
from delivery.router.queues import QueueUnavailable, SqsQueueLocator, SqsSender, delivery_queue_name
from delivery.router.routing import RouterDeps, route_events, route_events_blocking
from delivery.router.settings import RouterSettings
from delivery.router.validation import decode_event, validate_event
from delivery.router.vocabulary import CallbackType, ErrorCode, EventType, Metric
from delivery.router.worker import RouterWorker, WorkerStats

__all__ = [
    "Callback",
    "CallbackType",
    "Channel",
    "ChannelStatusEvent",
    "ClientRoutes",
    "ConfigLookup",
    "Delivery",
    "ErrorCode",
    "EventIssue",
    "EventType",
    "Fate",
    "Match",
    "MessageStatusEvent",
    "Metric",
    "QueueUnavailable",
    "RecordResult",
    "Rejection",
    "RouteReport",
    "RouterDeps",
    "RouterSettings",
    "RouterWorker",
    "RoutesCache",
    "RoutingPlan",
    "SqsQueueLocator",
    "SqsSender",
    "StatusEvent",
    "WorkerStats",
    "build_callback",
    "compile_routes",
    "decode_event",
    "delivery_queue_name",
    "envelope_body",
    "idempotency_key",
    "match_event",
    "message_link",
    "route_events",
    "route_events_blocking",
    "validate_event",
]
