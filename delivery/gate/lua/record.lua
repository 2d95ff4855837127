--[[ record.lua - circuit-breaker bookkeeping after a batch was delivered (SPEC C.5 as changed by P8).

KEYS[1]  ep:{<targetId>}   hash: is_open, switched_at, cur_attempts, prev_attempts, cur_failures,
                           prev_failures, sample_till, (admit.lua fields bucket_tokens, bucket_refilled_at)
ARGV[1]  now_ms            epoch milliseconds; "" or negative = use the server clock (TIME)
ARGV[2]  consumed          tokens the batch consumed (attempted deliveries)
ARGV[3]  failures          of those, failures (transient + 429)
ARGV[4]  cooldown_ms       full block after opening
ARGV[5]  recovery_ms       ramp length after closing (only for the reported state)
ARGV[6]  failure_threshold open when failures / attempts > this (0..1)
ARGV[7]  min_attempts      interpolated attempts needed before the ratio is evaluated
ARGV[8]  sample_period_ms  sliding window length
ARGV[9]  ttl_ms            key expires after this much inactivity (refreshed on every write)

Returns { state, changed } as strings: state "open" | "half_open" | "closed_recovery" | "closed",
changed "1" when the breaker switched during this call.

A key that does not exist is a closed breaker. Only breaker fields are written; the bucket belongs to
admit.lua.
]]

local function num(value)
  return string.format('%.17g', value)
end

local key = KEYS[1]
local now = tonumber(ARGV[1])
if not now or now < 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end
local consumed = tonumber(ARGV[2]) or 0
local failures = tonumber(ARGV[3]) or 0
local cooldown = tonumber(ARGV[4]) or 0
local recovery = tonumber(ARGV[5]) or 0
local threshold = tonumber(ARGV[6]) or 0
local min_attempts = tonumber(ARGV[7]) or 0
local period = tonumber(ARGV[8]) or 0
local ttl = tonumber(ARGV[9]) or 0

local h = redis.call('HMGET', key, 'is_open', 'switched_at', 'cur_attempts', 'prev_attempts',
  'cur_failures', 'prev_failures', 'sample_till')
local is_open = h[1] == '1'
local switched_at = tonumber(h[2]) or 0
local cur_attempts = tonumber(h[3]) or 0
local prev_attempts = tonumber(h[4]) or 0
local cur_failures = tonumber(h[5]) or 0
local prev_failures = tonumber(h[6]) or 0
local sample_till = tonumber(h[7]) or 0

local half_open = is_open and now > switched_at + cooldown
local fully_open = is_open and not half_open

if sample_till < now then
  if sample_till + period < now then
    prev_attempts, prev_failures = 0, 0
    sample_till = now + period
  else
    prev_attempts, prev_failures = cur_attempts, cur_failures
    sample_till = sample_till + period
  end
  cur_attempts, cur_failures = 0, 0
end
if not fully_open then
  cur_attempts = cur_attempts + consumed
  cur_failures = cur_failures + failures
end

local weight = 0
if period > 0 then
  weight = math.max(0, (sample_till - now) / period)
end
local attempts = prev_attempts * weight + cur_attempts
local failed = prev_failures * weight + cur_failures

local changed = false
local opened = false
local successes = consumed - failures
if half_open and successes > 0 then
  is_open = false
  switched_at = now
  changed = true
elseif half_open and consumed > 0 then
  opened = true
end
if not is_open and attempts >= min_attempts and attempts > 0 and failed / attempts > threshold then
  is_open = true
  opened = true
end
if opened then
  switched_at = now
  changed = true
  cur_attempts, prev_attempts, cur_failures, prev_failures = 0, 0, 0, 0
  sample_till = now + period
end

redis.call('HSET', key, 'cur_attempts', num(cur_attempts), 'prev_attempts', num(prev_attempts),
  'cur_failures', num(cur_failures), 'prev_failures', num(prev_failures), 'sample_till', num(sample_till))
if changed then
  local open_flag = '0'
  if is_open then
    open_flag = '1'
  end
  redis.call('HSET', key, 'is_open', open_flag, 'switched_at', num(switched_at))
end
if ttl > 0 then
  redis.call('PEXPIRE', key, math.ceil(ttl))
end

local state
if is_open then
  if now > switched_at + cooldown then state = 'half_open' else state = 'open' end
elseif switched_at > 0 and now < switched_at + recovery then
  state = 'closed_recovery'
else
  state = 'closed'
end
local flag = '0'
if changed then
  flag = '1'
end
return { state, flag }
