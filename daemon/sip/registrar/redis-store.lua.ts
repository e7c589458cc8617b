/**
 * The Redis side of RegistrarStore, as Lua so each REGISTER is one step,
 * atomic across dialtone processes, in one call per batch. The merge mirrors
 * mergeBindings() in bindings.ts and the nonce rule isReplay() in
 * nonce-count.ts; the shared store test suite holds them together.
 *
 * An address of record is one string of lines: first
 * `n <nonce> <nc> <issuedAt>`, the last nonce it was authenticated with, then
 * one line per binding:
 * `<expiresAt> <cseq> <registeredAt> <Call-ID> <normalised contact> <JSON>`,
 * the JSON being the rest of the binding, which the script never opens.
 * Redis runs Lua strings slowly (each one made is interned), JSON in Lua more
 * slowly still, and every key written costs it more again: at
 * registration-storm rates the script was Redis's whole cost, so it writes
 * one key per REGISTER and makes as few strings as it can. Nonces, Call-IDs
 * and contact URIs hold no white space (the registrar checks them) and JSON
 * no raw line feed, so the separators cannot be forged.
 */
const PARSE = `
local function parse(value)
  local list, last = {}, nil
  if not value then return list, last end
  for line in string.gmatch(value, '[^\\n]+') do
    if string.sub(line, 1, 2) == 'n ' then
      local n, c, at = string.match(line, '^n (%S+) (%d+) (%d+)$')
      if n then last = { nonce = n, nc = tonumber(c), issuedAt = tonumber(at) } end
    else
      local e, s, r, cid, c = string.match(line, '^(%d+) (%d+) (%d+) (%S+) (%S+) ')
      -- A line this format cannot read (written by something else) is dropped rather than trusted.
      if e then table.insert(list, { line = line, expiresAt = tonumber(e), cseq = tonumber(s), registeredAt = tonumber(r), callId = cid, contact = c }) end
    end
  end
  return list, last
end

local function nonceLine(n)
  return string.format('n %s %d %d', n.nonce, n.nc, n.issuedAt)
end

local function earliest(live)
  local at = nil
  for _, b in ipairs(live) do if at == nil or b.expiresAt < at then at = b.expiresAt end end
  return at
end
`;

/**
 * REGISTERs in a batch, each as one step of its own: every REGISTER read in
 * one turn of the daemon's event loop goes to Redis in one call, which spares
 * Redis and the client their cost per call. ARGV[1] is how many keys each
 * REGISTER has in KEYS: its address's and the sorted set of its bucket (see
 * redis-keys.ts), then, on one server, its two failure counters. On one
 * server the script checks the lockout itself, in the same round trip; in a
 * Redis Cluster the counters are in another slot, a batch holds one bucket
 * only, and the lockout was checked before. Then ARGV holds, per REGISTER,
 * its number of arguments and them (led by the two limits when the counters
 * are in KEYS). A REGISTER that fails answers an error without stopping the
 * others.
 */
export const REGISTER_LUA = `${PARSE}
local function register(k, a, last, counted)
  local key, dueKey = KEYS[k + 1], KEYS[k + 2]
  if counted then
    local got = redis.call('MGET', KEYS[k + 3], KEYS[k + 4])
    local source, user = tonumber(got[1] or '0'), tonumber(got[2] or '0')
    -- A counter that is not a number was not written by dialtone: fail rather than pass a lockout it cannot read.
    if source == nil or user == nil then error({ err = 'a SIP failure counter in Redis is not a number; it was not written by dialtone' }) end
    if source >= tonumber(ARGV[a + 1]) or user >= tonumber(ARGV[a + 2]) then return { 'locked' } end
    a = a + 2
  end
  local aor, now, nonce, nc, issued, nonceTtl = ARGV[a + 1], tonumber(ARGV[a + 2]), ARGV[a + 3], tonumber(ARGV[a + 4]), tonumber(ARGV[a + 5]), tonumber(ARGV[a + 6])
  local maxContacts, graceMs = tonumber(ARGV[a + 7]), tonumber(ARGV[a + 8])
  local callId, cseq, wildcard = ARGV[a + 9], tonumber(ARGV[a + 10]), ARGV[a + 11] == '*'
  -- A key of another type under our name is replaced, not a reason to refuse the phone.
  local value = redis.pcall('GET', key)
  if type(value) ~= 'string' then value = nil end
  local stored, seen = parse(value)
  if seen and seen.issuedAt + nonceTtl > now then
    if seen.nonce == nonce then
      if nc <= seen.nc then return { 'replay' } end
    elseif issued <= seen.issuedAt then
      return { 'replay' }
    end
  end
  local live, removed = {}, {}
  for _, b in ipairs(stored) do
    if b.expiresAt <= now then table.insert(removed, { 'expired', b.line }) else table.insert(live, b) end
  end
  local function ooo(b) return b.callId == callId and cseq <= b.cseq end
  local added = {}
  if wildcard then
    for _, b in ipairs(live) do if ooo(b) then return { 'out-of-order' } end end
    for _, b in ipairs(live) do table.insert(removed, { 'unregistered', b.line }) end
    live = {}
  else
    local function find(contact)
      for i, b in ipairs(live) do if b.contact == contact then return i, b end end
      return nil, nil
    end
    local fresh = {}
    for i = a + 12, last, 3 do
      local _, e = find(ARGV[i])
      if e and ooo(e) then return { 'out-of-order' } end
      fresh[ARGV[i]] = true
    end
    for i = a + 12, last, 3 do
      local contact, expires = ARGV[i], tonumber(ARGV[i + 1])
      local at, e = find(contact)
      if e then table.remove(live, at) end
      if expires == 0 then
        if e then table.insert(removed, { 'unregistered', e.line }) end
      else
        local b = { contact = contact, expiresAt = now + expires * 1000, cseq = cseq, registeredAt = e and e.registeredAt or now, callId = callId }
        b.line = string.format('%d %d %d ', b.expiresAt, cseq, b.registeredAt) .. callId .. ' ' .. contact .. ' ' .. ARGV[i + 2]
        table.insert(live, b)
        if not e then added[b] = true end
      end
    end
    local freshLive = 0
    for _, b in ipairs(live) do if fresh[b.contact] then freshLive = freshLive + 1 end end
    if freshLive > maxContacts then return { 'too-many' } end
    if #live > maxContacts then
      local evictable = {}
      for i, b in ipairs(live) do if not fresh[b.contact] then table.insert(evictable, { i = i, b = b }) end end
      table.sort(evictable, function(x, y)
        if x.b.expiresAt == y.b.expiresAt then return x.i < y.i end
        return x.b.expiresAt < y.b.expiresAt
      end)
      local evicted = {}
      for n = 1, #live - maxContacts do
        evicted[evictable[n].b] = true
        table.insert(removed, { 'replaced', evictable[n].b.line })
      end
      local kept = {}
      for _, b in ipairs(live) do if not evicted[b] then table.insert(kept, b) end end
      live = kept
    end
  end
  -- Kept while the nonce is valid, and past the last binding long enough for the sweeper to report it.
  local out, lines, untilMs = { 'ok', #live }, { nonceLine({ nonce = nonce, nc = nc, issuedAt = issued }) }, issued + nonceTtl
  for _, b in ipairs(live) do
    table.insert(lines, b.line)
    table.insert(out, b.line)
    if b.expiresAt + graceMs > untilMs then untilMs = b.expiresAt + graceMs end
  end
  redis.call('SET', key, table.concat(lines, '\\n'), 'PX', string.format('%d', math.max(1, untilMs - now)))
  if #live > 0 then
    -- LT: a refresh leaves the sweeper's score early, and the sweeper moves it on when it comes.
    redis.call('ZADD', dueKey, 'LT', string.format('%d', earliest(live)), aor)
  else
    redis.call('ZREM', dueKey, aor)
  end
  local addedAt = {}
  for i, b in ipairs(live) do if added[b] then table.insert(addedAt, i) end end
  table.insert(out, #addedAt)
  for _, i in ipairs(addedAt) do table.insert(out, i) end
  for _, r in ipairs(removed) do
    table.insert(out, r[1])
    table.insert(out, r[2])
  end
  return out
end

local per = tonumber(ARGV[1])
local out, a = {}, 2
for r = 0, #KEYS / per - 1 do
  local argc = tonumber(ARGV[a])
  local ok, result = pcall(register, r * per, a, a + argc, per == 4)
  if ok then out[r + 1] = result else out[r + 1] = { 'error', type(result) == 'table' and result.err or tostring(result) } end
  a = a + argc + 1
end
return out
`;

export const SWEEP_LUA = `${PARSE}
local dueKey = KEYS[1]
local prefix, now, max = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local members = redis.call('ZRANGEBYSCORE', dueKey, '-inf', now, 'LIMIT', 0, max)
local out = {}
for _, aor in ipairs(members) do
  local key = prefix .. aor
  -- A key of another type under our name must not stop every later expiry from being reported.
  local value = redis.pcall('GET', key)
  if type(value) ~= 'string' then value = nil end
  local stored, seen = parse(value)
  local live, lines = {}, {}
  if seen then table.insert(lines, nonceLine(seen)) end
  for _, b in ipairs(stored) do
    if b.expiresAt <= now then
      table.insert(out, aor)
      table.insert(out, b.line)
    else
      table.insert(live, b)
      table.insert(lines, b.line)
    end
  end
  if #lines > 0 then
    redis.call('SET', key, table.concat(lines, '\\n'), 'KEEPTTL')
  elseif value then
    redis.call('DEL', key)
  end
  if #live > 0 then redis.call('ZADD', dueKey, string.format('%d', earliest(live)), aor) else redis.call('ZREM', dueKey, aor) end
end
return out
`;

/**
 * An authenticated request other than REGISTER, past the lockout: the replay
 * rule of nonce-count.ts on the identity's own last-nonce key, then that key
 * written, as one step. KEYS: the nonce key.
 */
export const AUTHORIZE_LUA = `
local got = redis.pcall('GET', KEYS[1])
if type(got) ~= 'string' then got = nil end
local now, nonce, nc, issued, ttl = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
if got then
  local n, c, at = string.match(got, '^(%S+) (%d+) (%d+)$')
  if n then
    if n == nonce then
      if nc <= tonumber(c) then return 'replay' end
    elseif issued <= tonumber(at) then
      return 'replay'
    end
  end
end
local left = issued + ttl - now
if left > 0 then redis.call('SET', KEYS[1], string.format('%s %d %d', nonce, nc, issued), 'PX', left) end
return 'ok'
`;
