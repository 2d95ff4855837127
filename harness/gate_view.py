"""Read-only view of the admission gate in Redis: the ``ep:{<targetId>}`` hash (SPEC C.2)."""

from __future__ import annotations

import redis


def gate_key(target_id: str) -> str:
    return f"ep:{{{target_id}}}"


class GateView:
    def __init__(self, redis_url: str) -> None:
        self._redis = redis.Redis.from_url(redis_url, decode_responses=True)

    def state(self, target_id: str) -> dict[str, str]:
        raw = self._redis.hgetall(gate_key(target_id))
        return {str(k): str(v) for k, v in raw.items()}

    def is_open(self, target_id: str) -> bool:
        return self.state(target_id).get("is_open") == "1"

    def close(self) -> None:
        self._redis.close()
