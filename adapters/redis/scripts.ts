// The Lua scripts of the Redis lock protocol (docs/REDIS.md). Every change to
// a descriptor's state is one of these scripts, so it is atomic on the server,
// and every decision about time reads the server's clock (TIME), never a
// client's. They are sent once per connection and then called by hash
// (ioredis defineCommand: EVALSHA, and EVAL again after NOSCRIPT).
//
// KEYS[1] is the descriptor's key base B = PREFIX..DESCRIPTOR..":", KEYS[2]
// the prefix P; ARGV[1] is the descriptor. The keys a script touches are all
// derived from those two, which is why Redis Cluster is not supported.
//
// One descriptor's state is three keys: B state (a hash), B queue and
// B expiry (sorted sets). The hash holds
//   n         the number of slots every request must agree on
//   x, r      how many exclusive and shared holders there are
//   s<SLOT>   the token holding that slot
//   t<TOKEN>  "W ttl mode pref" (waiting) or "H ttl mode slot fence at"
//             (holding), a newline, and the request's record (JSON)
// Each redis.call costs about a microsecond: the scripts make few of them.

/** What every script starts with: the descriptor's keys. */
const HEAD = `
local B, P, D = KEYS[1], KEYS[2], ARGV[1]
local S, Q, E = B .. 'state', B .. 'queue', B .. 'expiry'
local INDEX = P .. '#index'
-- Keys outlive the last lease by this much, so their TTLs need setting about once a minute, not on every change.
local SLACK = 60000
local NOW, NOW_US
`;

/** The server's clock, read once (TIME): NOW in ms, NOW_US in µs. */
const CLOCK = `
do
  local t = redis.call('TIME')
  NOW_US = tonumber(t[1]) * 1000000 + tonumber(t[2])
  NOW = math.floor(NOW_US / 1000)
end
`;

/** The fence counter: apart from COMMON, as acquire's uncontended path needs it before COMMON is defined. */
const FENCE = `
-- A fence (and a queue position): strictly greater than every one before it
-- under this prefix, and at least the server's clock in microseconds, so that
-- a server restarted without its data still never hands out a smaller one.
-- The clock is nearly always ahead of the counter, so it is written first and
-- the old value read in the same call (GETSET: one call, where INCR then SET
-- were two); only a counter at or past the clock is set again, one above.
-- (A counter that is not a number, changed by hand, counts as absent.)
local function next_fence()
  local now = string.format('%.0f', NOW_US)
  local old = tonumber(redis.call('GETSET', P .. '#fence', now) or '')
  if old and old >= NOW_US then
    now = string.format('%.0f', old + 1)
    redis.call('SET', P .. '#fence', now)
  end
  return now
end
`;

/**
 * The helpers of the general case. Lua makes a closure of each of them every
 * time a script runs (they cost a script a few µs), so the uncontended paths
 * of acquire and release come before them and return without making any.
 */
const COMMON = `
-- parse splits a token's state into its header fields and its record.
local function parse(v)
  local nl = string.find(v, '\\n', 1, true)
  local f = {}
  for w in string.gmatch(nl and string.sub(v, 1, nl - 1) or v, '%S+') do f[#f + 1] = w end
  return f, nl and string.sub(v, nl + 1) or ''
end

-- counts reads n, x and r (n is nil when the descriptor has no state).
local function counts()
  local c = redis.call('HMGET', S, 'n', 'x', 'r')
  return { n = tonumber(c[1]), x = tonumber(c[2]) or 0, r = tonumber(c[3]) or 0 }
end

-- drop forgets a token (v: its state, if already read): its slot or shared
-- grant, or its place in the queue, and its expiry. A wake-up left for it
-- expires by itself. c, when given, is the caller's counts, kept current
-- (and c.s0, when not nil, what slot 0 holds, already read).
local function drop(tok, v, c)
  v = v or redis.call('HGET', S, 't' .. tok)
  if v then
    local f = parse(v)
    if f[1] == 'H' then
      if f[3] == 's' then
        local r = redis.call('HINCRBY', S, 'r', -1)
        if c then c.r = r end
        redis.call('HDEL', S, 't' .. tok)
      elseif (c and f[4] == '0' and c.s0 or redis.call('HGET', S, 's' .. f[4])) == tok then
        local x = redis.call('HINCRBY', S, 'x', -1)
        if c then c.x = x; c.s0 = nil end
        redis.call('HDEL', S, 't' .. tok, 's' .. f[4])
      else
        redis.call('HDEL', S, 't' .. tok)
      end
    else
      redis.call('ZREM', Q, tok)
      redis.call('HDEL', S, 't' .. tok)
    end
  end
  redis.call('ZREM', E, tok)
end

-- sweep drops every token whose lease has run out on the server's clock.
-- first, when given, is the earliest lease's end, already read by the
-- caller: if it is still ahead, nothing has run out and nothing is read.
local function sweep(first)
  if first and tonumber(first) > NOW then return 0 end
  local dead = redis.call('ZRANGEBYSCORE', E, '-inf', NOW)
  for _, tok in ipairs(dead) do drop(tok) end
  return #dead
end

-- free_for: could a request of this mode hold now, queue aside?
local function free_for(mode, c)
  if mode == 's' then return c.x == 0 end
  return c.x < (c.n or 1) and c.r == 0
end

-- grant makes tok a holder: the preferred slot if free, else the lowest free
-- one (exclusive), or a shared grant, with a fresh fence; c is updated. Its
-- lease is left as it is: a waiter's lease goes on from its last renewal (as
-- its own process judges it), so a waiter that died in the queue holds what
-- it is granted only until that lease runs out, not a whole lease more.
local function grant(tok, mode, pref, ttl, json, c, n)
  local fence = next_fence()
  if mode == 's' then
    c.r = c.r + 1
    redis.call('HSET', S, 't' .. tok, 'H ' .. ttl .. ' s 0 ' .. fence .. ' ' .. NOW .. '\\n' .. json, 'r', c.r, 'n', n)
    return 0, fence
  end
  local slot = -1
  if c.x == 0 then
    slot = (pref >= 0 and pref < n) and pref or 0
  elseif pref >= 0 and pref < n and redis.call('HEXISTS', S, 's' .. pref) == 0 then
    slot = pref
  else
    for s = 0, n - 1 do
      if redis.call('HEXISTS', S, 's' .. s) == 0 then slot = s; break end
    end
  end
  -- Unreachable while only these scripts write here: free_for said a slot is free.
  if slot < 0 then error({err = 'ERR waitlock: no free slot of ' .. D .. ' although one was granted (keys changed by hand?)'}) end
  c.x = c.x + 1
  redis.call('HSET', S, 's' .. slot, tok, 't' .. tok, 'H ' .. ttl .. ' x ' .. slot .. ' ' .. fence .. ' ' .. NOW .. '\\n' .. json, 'x', c.x, 'n', n)
  return slot, fence
end

-- promote grants the head of the queue, and the next, as long as each may
-- hold: FIFO, and a waiter that would be overtaken stops everyone behind it.
-- Each one granted finds "slot fence at" in its own wake-up list. c: the
-- counts, if the caller has them (else read once, if anyone waits).
local function promote(c)
  while true do
    local head = redis.call('ZRANGE', Q, 0, 0)[1]
    if not head then return end
    c = c or counts()
    local v = redis.call('HGET', S, 't' .. head)
    local f, json
    if v then f, json = parse(v) end
    if not f or f[1] ~= 'W' then
      redis.call('ZREM', Q, head) -- not a waiter (a damaged entry): out of the way
    elseif not free_for(f[3], c) then
      return
    else
      redis.call('ZREM', Q, head)
      local slot, fence = grant(head, f[3], tonumber(f[4]), f[2], json, c, c.n or 1)
      local w = B .. 'wake:' .. head
      redis.call('LPUSH', w, slot .. ' ' .. fence .. ' ' .. NOW)
      redis.call('PEXPIRE', w, f[2])
      -- Every slot taken: no one behind can hold (free_for), so the queue need not be read again.
      if c.x >= (c.n or 1) then return end
    end
  end
end

-- gone deletes the descriptor's keys and its entry in the index: its last
-- token has left. Entries of descriptors whose keys expired instead (every
-- token died) are dropped too, but only about one time in 16, by the
-- server's clock: they are never listed (a listing reads only entries still
-- live), and the call is not paid on every release of an uncontended lock.
local function gone()
  redis.call('DEL', S, Q, E)
  redis.call('ZREM', INDEX, D)
  if NOW % 16 == 0 then redis.call('ZREMRANGEBYSCORE', INDEX, '-inf', NOW) end
end

-- keep makes the descriptor's keys (and its entry in the prefix's index, for
-- listings) live until its last lease has run out, plus SLACK; they are set
-- again only when that is no longer enough, or when fresh says a key was
-- just made (it has no TTL yet). With no lease left, the keys go at once.
-- until, when given, is the last lease's end, already known to the caller;
-- noqueue says the queue does not exist (no TTL to give it).
local function keep(fresh, until_last, noqueue)
  local last = until_last and {'', until_last} or redis.call('ZRANGE', E, -1, -1, 'WITHSCORES')
  if #last == 0 then return gone() end
  local need = tonumber(last[2]) + 1000
  if not fresh and tonumber(redis.call('ZSCORE', INDEX, D) or '0') >= need then return end
  local until_ = need + SLACK
  redis.call('PEXPIREAT', S, until_)
  if not noqueue then redis.call('PEXPIREAT', Q, until_) end
  redis.call('PEXPIREAT', E, until_)
  redis.call('ZADD', INDEX, until_, D)
end

local function changed(fresh, until_last, noqueue)
  keep(fresh, until_last, noqueue)
  redis.call('PUBLISH', P .. '#events', D)
end
`;

/**
 * acquire: ARGV = D, token, mode (x|s), maxHolders, preferred slot (-1: none),
 * lease ms, record JSON, wait (1|0). Replies {'held', slot, fence, at},
 * {'queued', rank}, {'busy'} (not waiting: nothing written) or
 * {'mismatch', maxHolders, a record} (the descriptor is another shape). A
 * token already known (the same request asked again) is answered with where
 * it stands, its lease extended: asking again never queues twice.
 */
export const ACQUIRE = `${HEAD}${CLOCK}${FENCE}
local h = redis.call('HMGET', S, 'n', 'x', 'r')
if not (h[1] or h[2] or h[3]) then
  -- No state hash: nobody holds or waits here (every token has its entry in it), so
  -- there is nothing to sweep and no queue to stand behind, and the lease granted
  -- here is the descriptor's only one: the keys' TTLs follow from it.
  local tok, n, ttl, pref = ARGV[2], tonumber(ARGV[4]), tonumber(ARGV[6]), tonumber(ARGV[5])
  local fence = next_fence()
  local slot = 0
  if ARGV[3] == 's' then
    redis.call('HSET', S, 't' .. tok, 'H ' .. ttl .. ' s 0 ' .. fence .. ' ' .. NOW .. '\\n' .. ARGV[7], 'r', 1, 'n', n)
  else
    if pref >= 0 and pref < n then slot = pref end
    redis.call('HSET', S, 's' .. slot, tok, 't' .. tok, 'H ' .. ttl .. ' x ' .. slot .. ' ' .. fence .. ' ' .. NOW .. '\\n' .. ARGV[7], 'x', 1, 'n', n)
  end
  redis.call('ZADD', E, NOW + ttl, tok)
  local until_ = NOW + ttl + 1000 + SLACK
  redis.call('PEXPIREAT', S, until_)
  redis.call('PEXPIREAT', E, until_)
  redis.call('ZADD', INDEX, until_, D)
  redis.call('PUBLISH', P .. '#events', D)
  return {'held', slot, fence, NOW}
end
${COMMON}
local tok, mode, n, pref, ttl = ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
-- The state hash is there. (One without n, changed by hand, counts as none: no sweep, no queue.)
local c = { n = tonumber(h[1]), x = tonumber(h[2]) or 0, r = tonumber(h[3]) or 0 }
local empty = c.n == nil
local swept = false
if c.n then
  swept = sweep() > 0
  if swept then
    promote()
    c = counts()
  end
end
-- A token the server already knows is a request asked again because its answer
-- was lost: it keeps its place, and hears where it stands (as renew answers).
if c.n then
  local v = redis.call('HGET', S, 't' .. tok)
  if v then
    redis.call('ZADD', E, NOW + ttl, tok)
    if swept then changed(false) else keep(false) end
    local f = parse(v)
    if f[1] == 'H' then return {'held', f[4], f[5], f[6]} end
    return {'queued', redis.call('ZRANK', Q, tok)}
  end
end
if c.n and c.n ~= n and redis.call('ZCARD', E) > 0 then
  if swept then changed(false) end
  local first = redis.call('ZRANGE', E, 0, 0)[1]
  local _, json = parse(redis.call('HGET', S, 't' .. first) or '')
  return {'mismatch', c.n, json}
end
-- New keys (or ones a sweep may have emptied, which Redis then deletes) have no TTL yet.
local fresh = c.n == nil or swept
local waiting = c.n and redis.call('ZCARD', Q) or 0
if waiting == 0 and free_for(mode, { n = n, x = c.x, r = c.r }) then
  redis.call('ZADD', E, NOW + ttl, tok)
  local slot, fence = grant(tok, mode, pref, ttl, ARGV[7], c, n)
  -- Nobody waits: there is no queue key to keep.
  changed(fresh, empty and NOW + ttl or nil, true)
  return {'held', slot, fence, NOW}
end
if ARGV[8] ~= '1' then
  if swept then changed(false) end
  return {'busy'}
end
redis.call('ZADD', Q, next_fence(), tok)
redis.call('HSET', S, 't' .. tok, 'W ' .. ttl .. ' ' .. mode .. ' ' .. pref .. '\\n' .. ARGV[7], 'n', n)
redis.call('ZADD', E, NOW + ttl, tok)
changed(fresh or waiting == 0)
return {'queued', waiting}
`;

/**
 * renew (compare-and-extend): ARGV = D, token, lease ms. Extends the token's
 * lease if the server still knows it. Replies {'gone'}, {'held', slot,
 * fence, at}, or {'queued', rank, ms until the first lease of the descriptor
 * runs out} (when a waiter next in line should look again).
 */
export const RENEW = `${HEAD}${CLOCK}${FENCE}${COMMON}
local swept = sweep() > 0
if swept then promote() end
local tok = ARGV[2]
local v = redis.call('HGET', S, 't' .. tok)
if not v then
  if swept then changed(false) end
  return {'gone'}
end
redis.call('ZADD', E, NOW + tonumber(ARGV[3]), tok)
if swept then changed(false) else keep(false) end
local f = parse(v)
if f[1] == 'H' then return {'held', f[4], f[5], f[6]} end
local first = redis.call('ZRANGE', E, 0, 0, 'WITHSCORES')
return {'queued', redis.call('ZRANK', Q, tok), math.floor(tonumber(first[2]) - NOW)}
`;

/**
 * release (compare-and-delete): ARGV = D, token. Drops the token whether it
 * holds or waits (a waiter giving up, even one granted meanwhile), then hands
 * what it freed to the waiters next in line. Replies 1 if the token was known.
 */
export const RELEASE = `${HEAD}
local tok = ARGV[2]
-- The two earliest leases: whether this token is the descriptor's only one,
-- and whether any lease has run out (a sweep is needed).
local first = redis.call('ZRANGE', E, 0, 1, 'WITHSCORES')
if #first == 2 and first[1] == tok then
  -- The only token (an uncontended lock): nothing to sweep, nobody to promote, every
  -- key goes, and no clock is read. Index entries of descriptors whose keys expired are
  -- dropped when the token's last digit is 0 (tokens are random: one release in 16).
  redis.call('DEL', S, Q, E)
  redis.call('ZREM', INDEX, D)
  if string.sub(tok, -1) == '0' then
    local t = redis.call('TIME')
    redis.call('ZREMRANGEBYSCORE', INDEX, '-inf', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
  end
  redis.call('PUBLISH', P .. '#events', D)
  return 1
end
${CLOCK}${FENCE}${COMMON}
local swept = sweep(first[2] or math.huge)
-- The token's state and the counts in one read, with slot 0's holder (all a mutex's drop needs).
local h = redis.call('HMGET', S, 't' .. tok, 'n', 'x', 'r', 's0')
local v = h[1]
local c = { n = tonumber(h[2]), x = tonumber(h[3]) or 0, r = tonumber(h[4]) or 0, s0 = h[5] }
if v then drop(tok, v, c) end
if v or swept > 0 then
  promote(c)
  -- A release only ends leases (a grant keeps the waiter's), so the keys' TTLs still
  -- cover every lease left; only a descriptor that may have no token left is looked at.
  if swept > 0 or #first < 4 then keep(false) end
  redis.call('PUBLISH', P .. '#events', D)
end
return v and 1 or 0
`;

/** rewrite: ARGV = D, token, record JSON. Replaces a holder's record; 1 if it still holds. */
export const REWRITE = `${HEAD}${CLOCK}
local v = redis.call('HGET', S, 't' .. ARGV[2])
if not v or string.sub(v, 1, 1) ~= 'H' then return 0 end
local e = redis.call('ZSCORE', E, ARGV[2])
if not e or tonumber(e) <= NOW then return 0 end
local nl = string.find(v, '\\n', 1, true)
redis.call('HSET', S, 't' .. ARGV[2], string.sub(v, 1, (nl or #v + 1) - 1) .. '\\n' .. ARGV[3])
redis.call('PUBLISH', P .. '#events', D)
return 1
`;

/**
 * check (reads only): ARGV = D, mode, maxHolders. Would a request of this
 * shape be granted now? Replies {'free'}, {'busy'} or {'mismatch', n, record}.
 * Entries whose lease has run out count as gone, as the next sweep will make them.
 */
export const CHECK = `${HEAD}${CLOCK}${FENCE}${COMMON}
local mode, n = ARGV[2], tonumber(ARGV[3])
local live = redis.call('ZRANGEBYSCORE', E, '(' .. NOW, '+inf')
if #live == 0 then return {'free'} end
local have = tonumber(redis.call('HGET', S, 'n'))
if have and have ~= n then
  local _, json = parse(redis.call('HGET', S, 't' .. live[1]) or '')
  return {'mismatch', have, json}
end
local c = { n = n, x = 0, r = 0 }
for _, tok in ipairs(live) do
  local f = parse(redis.call('HGET', S, 't' .. tok) or '')
  if f[1] == 'W' then return {'busy'} end -- someone is queued: a newcomer would queue behind
  if f[3] == 's' then c.r = c.r + 1 else c.x = c.x + 1 end
end
return {free_for(mode, c) and 'free' or 'busy'}
`;

/**
 * list (reads only): KEYS[1] = P, ARGV[1] = a descriptor or '' for all.
 * Replies {now, {D, state, expiries, queue}, …}: the state hash as field,
 * value, …, the expiry set with scores, and the queue in order.
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
  out[#out + 1] = {d, redis.call('HGETALL', b .. 'state'), redis.call('ZRANGE', b .. 'expiry', 0, -1, 'WITHSCORES'), redis.call('ZRANGE', b .. 'queue', 0, -1)}
end
return out
`;
