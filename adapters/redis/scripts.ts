// The Lua scripts of the Redis lock protocol (docs/REDIS.md). Every change to
// a descriptor's state is one of these scripts, so it is atomic on the server,
// and every decision about time reads the server's clock (TIME), never a
// client's. They are sent once per connection and then called by hash
// (ioredis defineCommand: EVALSHA, and EVAL again after NOSCRIPT).
//
// KEYS[1] is the descriptor's key base B = PREFIX..DESCRIPTOR..":", KEYS[2]
// the prefix P; ARGV[1] is the descriptor. The keys a script touches are all
// derived from those two, which is why Redis Cluster is not supported.

/** Helpers every script starts with. */
const COMMON = `
local B, P, D = KEYS[1], KEYS[2], ARGV[1]
-- The keys of one descriptor (they expire together with its last entry).
local PARTS = {'n', 'slot', 'read', 'q', 'exp', 'rec', 'st'}

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function split(s)
  local out = {}
  for w in string.gmatch(s, '%S+') do out[#out + 1] = w end
  return out
end

-- A fence (and a queue position): strictly greater than every one before it
-- under this prefix, and at least the server's clock in microseconds, so that
-- a server restarted without its data still never hands out a smaller one.
local function next_fence()
  local t = redis.call('TIME')
  local us = tonumber(t[1]) * 1000000 + tonumber(t[2])
  local c = redis.call('INCR', P .. '#fence')
  if c < us then
    redis.call('SET', P .. '#fence', string.format('%.0f', us))
    c = us
  end
  return string.format('%.0f', c)
end

-- drop forgets a token: its slot or shared grant, its place in the queue,
-- its expiry, its record, and any wake-up left for it.
local function drop(tok)
  local s = redis.call('HGET', B .. 'st', tok)
  if s then
    local f = split(s)
    if f[1] == 'H' then
      if f[3] == 's' then
        redis.call('SREM', B .. 'read', tok)
      elseif redis.call('HGET', B .. 'slot', f[4]) == tok then
        redis.call('HDEL', B .. 'slot', f[4])
      end
    end
    redis.call('HDEL', B .. 'st', tok)
  end
  redis.call('ZREM', B .. 'q', tok)
  redis.call('ZREM', B .. 'exp', tok)
  redis.call('HDEL', B .. 'rec', tok)
  redis.call('DEL', B .. 'w:' .. tok)
end

-- sweep drops every token whose lease has run out on the server's clock.
local function sweep(now)
  local dead = redis.call('ZRANGEBYSCORE', B .. 'exp', '-inf', now)
  for _, tok in ipairs(dead) do drop(tok) end
  return #dead
end

-- free_for: could a request of this mode hold now, queue aside?
local function free_for(mode, n)
  local exclusive = redis.call('HLEN', B .. 'slot')
  if mode == 's' then return exclusive == 0 end
  return exclusive < n and redis.call('SCARD', B .. 'read') == 0
end

-- grant makes tok a holder: the preferred slot if free, else the lowest
-- free one (exclusive), or a shared grant, with a fresh fence. Its lease is
-- left as it is: a waiter's lease goes on from its last renewal (as its own
-- process judges it), so a waiter that died in the queue holds what it is
-- granted only until that lease runs out, not a whole lease more.
local function grant(tok, mode, pref, ttl, now, n)
  local slot = 0
  if mode == 'x' then
    slot = -1
    if pref >= 0 and pref < n and redis.call('HEXISTS', B .. 'slot', pref) == 0 then
      slot = pref
    else
      for s = 0, n - 1 do
        if redis.call('HEXISTS', B .. 'slot', s) == 0 then slot = s; break end
      end
    end
    -- Unreachable while only these scripts write here: free_for said a slot is free.
    if slot < 0 then error({err = 'ERR waitlock: no free slot of ' .. D .. ' although one was granted (keys changed by hand?)'}) end
    redis.call('HSET', B .. 'slot', slot, tok)
  else
    redis.call('SADD', B .. 'read', tok)
  end
  local fence = next_fence()
  redis.call('HSET', B .. 'st', tok, 'H ' .. ttl .. ' ' .. mode .. ' ' .. slot .. ' ' .. fence .. ' ' .. string.format('%.0f', now))
  return slot, fence
end

-- promote grants the head of the queue, and the next, as long as each may
-- hold: FIFO, and a waiter that would be overtaken stops everyone behind it.
-- Each one granted finds its slot and fence in its own wake-up list.
local function promote(now)
  local n = tonumber(redis.call('GET', B .. 'n') or '1')
  local granted = 0
  while true do
    local head = redis.call('ZRANGE', B .. 'q', 0, 0)[1]
    if not head then break end
    local f = split(redis.call('HGET', B .. 'st', head) or '')
    if f[1] ~= 'W' then
      redis.call('ZREM', B .. 'q', head) -- not a waiter (a damaged entry): out of the way
    else
      if not free_for(f[3], n) then break end
      redis.call('ZREM', B .. 'q', head)
      local ttl = tonumber(f[2])
      local slot, fence = grant(head, f[3], tonumber(f[4]), ttl, now, n)
      redis.call('LPUSH', B .. 'w:' .. head, slot .. ' ' .. fence .. ' ' .. string.format('%.0f', now))
      redis.call('PEXPIRE', B .. 'w:' .. head, ttl)
      granted = granted + 1
    end
  end
  return granted
end

-- touch keeps the descriptor's keys exactly as long as its last lease, and
-- its name in the prefix's index (for listings) as long as that.
local function touch(now)
  local last = redis.call('ZRANGE', B .. 'exp', -1, -1, 'WITHSCORES')
  if #last == 0 then
    for _, k in ipairs(PARTS) do redis.call('DEL', B .. k) end
    redis.call('ZREM', P .. '#index', D)
  else
    local ms = math.max(1, math.floor(tonumber(last[2]) - now)) + 1000
    for _, k in ipairs(PARTS) do redis.call('PEXPIRE', B .. k, ms) end
    redis.call('ZADD', P .. '#index', last[2], D)
  end
  redis.call('ZREMRANGEBYSCORE', P .. '#index', '-inf', now - 60000)
end

local function changed(now)
  touch(now)
  redis.call('PUBLISH', P .. '#events', D)
end

local function state_of(tok)
  local s = redis.call('HGET', B .. 'st', tok)
  if not s then return nil end
  local f = split(s)
  if f[1] == 'H' then return {'held', f[4], f[5], f[6]} end
  return {'queued', redis.call('ZRANK', B .. 'q', tok)}
end
`;

/**
 * acquire: ARGV = D, token, mode (x|s), maxHolders, preferred slot (-1: none),
 * lease ms, record JSON, wait (1|0). Replies {'held', slot, fence, at},
 * {'queued', rank}, {'busy'} (not waiting: nothing written) or
 * {'mismatch', maxHolders, a record} (the descriptor is another shape).
 * A token already known gets its state back, so a retried call is harmless.
 */
export const ACQUIRE = `${COMMON}
local now = now_ms()
local swept = sweep(now) > 0
if swept then promote(now) end
local tok, mode, n, pref, ttl = ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local known = state_of(tok)
if known then return known end
local have = redis.call('GET', B .. 'n')
if have and tonumber(have) ~= n and redis.call('ZCARD', B .. 'exp') > 0 then
  if swept then changed(now) end
  local first = redis.call('ZRANGE', B .. 'exp', 0, 0)[1]
  return {'mismatch', have, redis.call('HGET', B .. 'rec', first) or ''}
end
if redis.call('ZCARD', B .. 'q') == 0 and free_for(mode, n) then
  redis.call('SET', B .. 'n', n)
  redis.call('HSET', B .. 'rec', tok, ARGV[7])
  redis.call('ZADD', B .. 'exp', now + ttl, tok)
  local slot, fence = grant(tok, mode, pref, ttl, now, n)
  changed(now)
  return {'held', slot, fence, string.format('%.0f', now)}
end
if ARGV[8] ~= '1' then
  if swept then changed(now) end
  return {'busy'}
end
redis.call('SET', B .. 'n', n)
redis.call('ZADD', B .. 'q', next_fence(), tok)
redis.call('HSET', B .. 'st', tok, 'W ' .. ttl .. ' ' .. mode .. ' ' .. pref)
redis.call('HSET', B .. 'rec', tok, ARGV[7])
redis.call('ZADD', B .. 'exp', now + ttl, tok)
changed(now)
return {'queued', redis.call('ZRANK', B .. 'q', tok)}
`;

/**
 * renew (compare-and-extend): ARGV = D, token, lease ms, check-in (1|0).
 * Extends the token's lease if the server still knows it. Replies {'gone'},
 * {'held', slot, fence, at}, or {'queued', rank, ms until the first lease of
 * the descriptor runs out} (when a waiter should look again). A waiter's
 * check-in also clears a wake-up it has not read (it learns its grant here).
 */
export const RENEW = `${COMMON}
local now = now_ms()
local swept = sweep(now) > 0
if swept then promote(now) end
local tok, ttl = ARGV[2], tonumber(ARGV[3])
local s = state_of(tok)
if not s then
  if swept then changed(now) end
  return {'gone'}
end
redis.call('ZADD', B .. 'exp', now + ttl, tok)
if swept then changed(now) else touch(now) end
if s[1] == 'held' then
  if ARGV[4] == '1' then redis.call('DEL', B .. 'w:' .. tok) end
  return s
end
local first = redis.call('ZRANGE', B .. 'exp', 0, 0, 'WITHSCORES')
return {'queued', s[2], math.floor(tonumber(first[2]) - now)}
`;

/**
 * release (compare-and-delete): ARGV = D, token. Drops the token whether it
 * holds or waits (a waiter giving up, even one granted meanwhile), then hands
 * what it freed to the waiters next in line. Replies 1 if the token was known.
 */
export const RELEASE = `${COMMON}
local now = now_ms()
local swept = sweep(now) > 0
local had = redis.call('HEXISTS', B .. 'st', ARGV[2]) == 1
drop(ARGV[2])
if had or swept then
  promote(now)
  changed(now)
end
return had and 1 or 0
`;

/** rewrite: ARGV = D, token, record JSON. Replaces a holder's record; 1 if it still holds. */
export const REWRITE = `${COMMON}
local s = redis.call('HGET', B .. 'st', ARGV[2])
if not s or string.sub(s, 1, 1) ~= 'H' then return 0 end
local e = redis.call('ZSCORE', B .. 'exp', ARGV[2])
if not e or tonumber(e) <= now_ms() then return 0 end
redis.call('HSET', B .. 'rec', ARGV[2], ARGV[3])
redis.call('PUBLISH', P .. '#events', D)
return 1
`;

/**
 * check (reads only): ARGV = D, mode, maxHolders. Would a request of this
 * shape be granted now? Replies {'free'}, {'busy'} or {'mismatch', n, record}.
 * Entries whose lease has run out count as gone, as the next sweep will make them.
 */
export const CHECK = `${COMMON}
local now = now_ms()
local function live(tok)
  local e = redis.call('ZSCORE', B .. 'exp', tok)
  return e and tonumber(e) > now
end
local mode, n = ARGV[2], tonumber(ARGV[3])
local have = redis.call('GET', B .. 'n')
if have and tonumber(have) ~= n then
  for _, tok in ipairs(redis.call('ZRANGEBYSCORE', B .. 'exp', '(' .. now, '+inf', 'LIMIT', 0, 1)) do
    return {'mismatch', have, redis.call('HGET', B .. 'rec', tok) or ''}
  end
end
for _, tok in ipairs(redis.call('ZRANGE', B .. 'q', 0, -1)) do
  if live(tok) then return {'busy'} end
end
local exclusive, shared = 0, 0
for _, tok in ipairs(redis.call('HVALS', B .. 'slot')) do
  if live(tok) then exclusive = exclusive + 1 end
end
for _, tok in ipairs(redis.call('SMEMBERS', B .. 'read')) do
  if live(tok) then shared = shared + 1 end
end
if mode == 's' then return {exclusive == 0 and 'free' or 'busy'} end
return {(exclusive < n and shared == 0) and 'free' or 'busy'}
`;

/**
 * list (reads only): KEYS[1] = P, ARGV[1] = a descriptor or '' for all.
 * Replies {now, {D, states, records, expiries, queue, n}, …} with the raw
 * hashes (field, value, …), the expiry set with scores, and the queue in order.
 */
export const LIST = `
local P = KEYS[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local names
if ARGV[1] ~= '' then names = {ARGV[1]} else names = redis.call('ZRANGEBYSCORE', P .. '#index', '(' .. now, '+inf') end
local out = {string.format('%.0f', now)}
for _, d in ipairs(names) do
  local b = P .. d .. ':'
  out[#out + 1] = {d, redis.call('HGETALL', b .. 'st'), redis.call('HGETALL', b .. 'rec'),
    redis.call('ZRANGE', b .. 'exp', 0, -1, 'WITHSCORES'), redis.call('ZRANGE', b .. 'q', 0, -1), redis.call('GET', b .. 'n') or ''}
end
return out
`;
