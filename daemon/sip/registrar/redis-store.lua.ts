/**
 * The Redis side of RegistrarStore, as Lua so each REGISTER is one round
 * trip and atomic across dialtone processes. The merge mirrors
 * mergeBindings() in bindings.ts; the shared store test suite holds the two
 * together.
 *
 * An address of record is one string of lines, one per binding:
 * `<expiresAt> <cseq> <registeredAt> <Call-ID> <normalised contact> <JSON>`,
 * the JSON being the rest of the binding, which the script never opens.
 * Redis runs Lua strings slowly (each one made is interned) and JSON in Lua
 * more slowly still: at registration-storm rates the script was Redis's
 * whole cost, so it reads and writes as few strings as it can. Call-IDs and
 * contact URIs hold no white space (the registrar checks them) and JSON no
 * raw line feed, so the separators cannot be forged. The last count seen of
 * each nonce is a key of its own that expires with the nonce.
 */
const PARSE = `
local function parse(value)
  local list = {}
  if not value then return list end
  for line in string.gmatch(value, '[^\\n]+') do
    local e, s, r, cid, c = string.match(line, '^(%d+) (%d+) (%d+) (%S+) (%S+) ')
    -- A line this format cannot read (written by something else) is dropped rather than trusted.
    if e then table.insert(list, { line = line, expiresAt = tonumber(e), cseq = tonumber(s), registeredAt = tonumber(r), callId = cid, contact = c }) end
  end
  return list
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
 * Redis and the client their cost per call. KEYS holds five keys per
 * REGISTER; ARGV holds, per REGISTER, its number of arguments and then them.
 * A REGISTER that fails answers an error without stopping the others.
 */
export const REGISTER_LUA = `${PARSE}
local function register(k, a, last)
  local key, ncKey, srcKey, userKey, dueKey = KEYS[k + 1], KEYS[k + 2], KEYS[k + 3], KEYS[k + 4], KEYS[k + 5]
  local aor, now, nc, nonceTtl = ARGV[a + 1], tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3]), ARGV[a + 4]
  local maxContacts, limitSource, limitUser, graceMs = tonumber(ARGV[a + 5]), tonumber(ARGV[a + 6]), tonumber(ARGV[a + 7]), tonumber(ARGV[a + 8])
  local callId, cseq, wildcard = ARGV[a + 9], tonumber(ARGV[a + 10]), ARGV[a + 11] == '*'
  local got = redis.call('MGET', srcKey, userKey, ncKey, key)
  if tonumber(got[1] or '0') >= limitSource or tonumber(got[2] or '0') >= limitUser then return { 'locked' } end
  if got[3] and tonumber(got[3]) >= nc then return { 'replay' } end
  local live, removed = {}, {}
  for _, b in ipairs(parse(got[4])) do
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
      for k = 1, #live - maxContacts do
        evicted[evictable[k].b] = true
        table.insert(removed, { 'replaced', evictable[k].b.line })
      end
      local kept = {}
      for _, b in ipairs(live) do if not evicted[b] then table.insert(kept, b) end end
      live = kept
    end
  end
  local out, lines, latest = { 'ok', #live }, {}, 0
  for _, b in ipairs(live) do
    table.insert(lines, b.line)
    table.insert(out, b.line)
    if b.expiresAt > latest then latest = b.expiresAt end
  end
  if #live > 0 then
    -- Kept past the last binding long enough for the sweeper to report it.
    redis.call('SET', key, table.concat(lines, '\\n'), 'PX', string.format('%d', latest + graceMs - now))
    -- LT: a refresh leaves the sweeper's score early, and the sweeper moves it on when it comes.
    redis.call('ZADD', dueKey, 'LT', string.format('%d', earliest(live)), aor)
  elseif got[4] then
    redis.call('DEL', key)
    redis.call('ZREM', dueKey, aor)
  end
  redis.call('SET', ncKey, nc, 'PX', nonceTtl)
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

local out, a = {}, 1
for r = 0, #KEYS / 5 - 1 do
  local argc = tonumber(ARGV[a])
  local ok, result = pcall(register, r * 5, a, a + argc)
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
  local live, lines = {}, {}
  for _, b in ipairs(parse(value)) do
    if b.expiresAt <= now then
      table.insert(out, aor)
      table.insert(out, b.line)
    else
      table.insert(live, b)
      table.insert(lines, b.line)
    end
  end
  if #live > 0 then
    redis.call('SET', key, table.concat(lines, '\\n'), 'KEEPTTL')
    redis.call('ZADD', dueKey, string.format('%d', earliest(live)), aor)
  else
    if value then redis.call('DEL', key) end
    redis.call('ZREM', dueKey, aor)
  end
end
return out
`;
