--[[ admit.lua - token bucket + circuit-breaker admission for one target (SPEC C.4 as changed by P8).

KEYS[1]  ep:{<targetId>}   hash: is_open, switched_at, bucket_tokens, bucket_refilled_at, (record.lua fields)
ARGV[1]  now_ms            epoch milliseconds; "" or negative = use the server clock (TIME)
ARGV[2]  capacity          bucket size in tokens (>= 1)
ARGV[3]  rate_per_s        target rate in tokens per second (> 0)
ARGV[4]  cooldown_ms       full block after the breaker opens
ARGV[5]  recovery_ms       linear ramp from probe_rate to rate_per_s after closing
ARGV[6]  probe_rate_per_s  tokens per second while half-open (ramp start)
ARGV[7]  batch_size        records asking for admission
ARGV[8]  cb_enabled        "1" = honour the breaker state, anything else = ignore it
ARGV[9]  ttl_ms            key expires after this much inactivity (refreshed on every write)

Returns (all strings, so fractions survive the Lua -> RESP integer conversion):
  { consumed, reason, retry_after_ms, effective_rate_per_s }
  reason: "some_allowed" (consumed >= 1), "rate_limited", "circuit_open".
  retry_after_ms: time until the bucket holds enough tokens for the records not admitted (0 if all were),
  or the rest of the cooldown when the breaker is fully open. While recovering, the refill is the integral
  of the linear ramp (then the full rate once the ramp ends), not the rate at this instant; while half-open
  it is the time until the next probe token.

A key that does not exist is a closed breaker with a full bucket. The bucket is continuous (fractional
tokens are stored, so slow rates such as 1/60 per second work). While half-open the bucket holds at most
one token: the first admission after the cooldown gets exactly one probe, the next comes at the probe rate.
]]

local function num(value)
  return string.format('%.17g', value)
end

-- ms until `need` more tokens accrue from a rate of `e0` tokens/s now that climbs linearly by `slope`
-- tokens/s per ms for `left` ms and then stays at `rate`: solve e0*t + slope/2*t^2 = need*1000 within the
-- ramp (stable root form, no cancellation), else the ramp's whole yield plus the rest at the full rate.
local function ramp_wait_ms(need, e0, slope, left, rate)
  local n = need * 1000
  if n <= 0 then
    return 0
  end
  local half = slope / 2
  local ramp_yield = e0 * left + half * left * left
  if n <= ramp_yield then
    return 2 * n / (e0 + math.sqrt(e0 * e0 + 4 * half * n))
  end
  return left + (n - ramp_yield) / rate
end

local key = KEYS[1]
local now = tonumber(ARGV[1])
if not now or now < 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end
local capacity = tonumber(ARGV[2]) or 0
local rate = tonumber(ARGV[3]) or 0
local cooldown = tonumber(ARGV[4]) or 0
local recovery = tonumber(ARGV[5]) or 0
local probe = tonumber(ARGV[6]) or 0
local batch = tonumber(ARGV[7]) or 0
local cb_enabled = ARGV[8] == '1'
local ttl = tonumber(ARGV[9]) or 0

local h = redis.call('HMGET', key, 'is_open', 'switched_at', 'bucket_tokens', 'bucket_refilled_at')
local is_open = h[1] == '1'
local switched_at = tonumber(h[2]) or 0
local tokens = tonumber(h[3]) or capacity
local refilled_at = tonumber(h[4]) or now
if not cb_enabled then
  is_open = false
  switched_at = 0
end

local effective = rate
local ramp_elapsed = -1 -- >= 0 while closed and recovering
if is_open then
  local half_open_at = switched_at + cooldown
  if now <= half_open_at then
    return { '0', 'circuit_open', num(half_open_at - now), '0' }
  end
  effective = probe
  capacity = math.min(capacity, 1)
  if refilled_at < half_open_at then
    -- first admission since the cooldown ended: exactly one probe token, accruing from the half-open start
    tokens = 1
    refilled_at = half_open_at
  end
elseif switched_at > 0 and now < switched_at + recovery then
  ramp_elapsed = math.max(0, now - switched_at)
  effective = probe + ramp_elapsed / recovery * math.max(0, rate - probe)
end

local level = tokens
if effective > 0 and now > refilled_at then
  level = tokens + (now - refilled_at) * effective / 1000
  refilled_at = now
end
level = math.min(capacity, level)
local consumed = math.max(0, math.min(batch, math.floor(level + 1e-9)))
tokens = math.max(0, level - consumed)

redis.call('HSET', key, 'bucket_tokens', num(tokens), 'bucket_refilled_at', num(refilled_at))
if ttl > 0 then
  redis.call('PEXPIRE', key, math.ceil(ttl))
end

local retry_after = 0
local wanted = math.min(batch - consumed, capacity)
if wanted > 0 then
  local need = math.max(0, wanted - tokens)
  if ramp_elapsed >= 0 and rate > effective then
    local slope = (rate - probe) / recovery
    retry_after = math.ceil(ramp_wait_ms(need, effective, slope, recovery - ramp_elapsed, rate))
  elseif effective > 0 then
    retry_after = math.ceil(need * 1000 / effective)
  else
    retry_after = cooldown
  end
end
local reason = 'some_allowed'
if consumed < 1 then
  reason = 'rate_limited'
end
return { num(consumed), reason, num(retry_after), num(effective) }
