/**
 * The Redis side of RegistrarStore, as Lua so each REGISTER is one round
 * trip and atomic across dialtone processes. The merge mirrors
 * mergeBindings() in bindings.ts; the shared store test suite holds the two
 * together.
 */
const NORMALIZE = `
local function norm(uri)
  uri = uri:match('^%s*(.-)%s*$')
  local scheme, rest = uri:match('^([sS][iI][pP][sS]?):(.*)$')
  if not scheme then return uri end
  local user, hostpart = rest:match('^([^@]*)@(.*)$')
  if not user then hostpart = rest end
  local host, tail = hostpart:match('^([^;?]*)(.*)$')
  return scheme:lower() .. ':' .. (user and (user .. '@') or '') .. host:lower() .. tail
end
`;

const SAVE = `
local function save(aorKey, expKey, aor, live, now, graceMs)
  if #live == 0 then
    redis.call('DEL', aorKey)
    redis.call('ZREM', expKey, aor)
    return
  end
  local earliest, latest = live[1].expiresAt, live[1].expiresAt
  for _, b in ipairs(live) do
    if b.expiresAt < earliest then earliest = b.expiresAt end
    if b.expiresAt > latest then latest = b.expiresAt end
  end
  redis.call('SET', aorKey, cjson.encode(live), 'PX', math.floor(latest - now + graceMs))
  redis.call('ZADD', expKey, earliest, aor)
end
`;

export const REGISTER_LUA = `${NORMALIZE}${SAVE}
local aorKey, ncKey, srcKey, userKey, expKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local a = cjson.decode(ARGV[1])
local graceMs = tonumber(ARGV[2])
local u = a.update
local now = u.now
local function count(k) local v = redis.call('GET', k); return v and tonumber(v) or 0 end
if count(srcKey) >= a.limits.source or count(userKey) >= a.limits.user then return '{"kind":"locked"}' end
local seen = redis.call('GET', ncKey)
if seen and tonumber(seen) >= a.nc then return '{"kind":"replay"}' end
local raw = redis.call('GET', aorKey)
local current = raw and cjson.decode(raw) or {}
local removed, live, added = {}, {}, {}
for _, b in ipairs(current) do
  if b.expiresAt <= now then table.insert(removed, { binding = b, reason = 'expired' }) else table.insert(live, b) end
end
local function ooo(b) return b.callId == u.callId and u.cseq <= b.cseq end
if u.contacts == '*' then
  for _, b in ipairs(live) do if ooo(b) then return '{"kind":"out-of-order"}' end end
  for _, b in ipairs(live) do table.insert(removed, { binding = b, reason = 'unregistered' }) end
  live = {}
else
  local function find(c)
    local n = norm(c)
    for i, b in ipairs(live) do if norm(b.contact) == n then return i, b end end
    return nil, nil
  end
  for _, c in ipairs(u.contacts) do
    local _, e = find(c.contact)
    if e and ooo(e) then return '{"kind":"out-of-order"}' end
  end
  for _, c in ipairs(u.contacts) do
    local i, e = find(c.contact)
    if e then table.remove(live, i) end
    if c.expires == 0 then
      if e then table.insert(removed, { binding = e, reason = 'unregistered' }) end
    else
      local nb = { contact = c.contact, callId = u.callId, cseq = u.cseq, expiresAt = now + c.expires * 1000,
        registeredAt = e and e.registeredAt or now, source = u.source, userAgent = u.userAgent, path = u.path, owner = u.owner }
      table.insert(live, nb)
      if not e then table.insert(added, nb) end
    end
  end
  local fresh = {}
  for _, c in ipairs(u.contacts) do fresh[norm(c.contact)] = true end
  local freshLive = 0
  for _, b in ipairs(live) do if fresh[norm(b.contact)] then freshLive = freshLive + 1 end end
  if freshLive > a.maxContacts then return '{"kind":"too-many"}' end
  if #live > a.maxContacts then
    local evictable = {}
    for i, b in ipairs(live) do if not fresh[norm(b.contact)] then table.insert(evictable, { i = i, b = b }) end end
    table.sort(evictable, function(x, y)
      if x.b.expiresAt == y.b.expiresAt then return x.i < y.i end
      return x.b.expiresAt < y.b.expiresAt
    end)
    local evicted = {}
    for k = 1, #live - a.maxContacts do
      evicted[evictable[k].b] = true
      table.insert(removed, { binding = evictable[k].b, reason = 'replaced' })
    end
    local kept = {}
    for _, b in ipairs(live) do if not evicted[b] then table.insert(kept, b) end end
    live = kept
  end
end
save(aorKey, expKey, a.aor, live, now, graceMs)
redis.call('SET', ncKey, a.nc, 'PX', a.nonceTtlMs)
return cjson.encode({ kind = 'ok', bindings = live, added = added, removed = removed })
`;

export const SWEEP_LUA = `${SAVE}
local expKey = KEYS[1]
local prefix, now, max, graceMs = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local aors = redis.call('ZRANGEBYSCORE', expKey, '-inf', now, 'LIMIT', 0, max)
local out = {}
for _, aor in ipairs(aors) do
  local key = prefix .. 'aor:' .. aor
  local raw = redis.call('GET', key)
  local keep = {}
  if raw then
    for _, b in ipairs(cjson.decode(raw)) do
      if b.expiresAt <= now then table.insert(out, { aor = aor, binding = b }) else table.insert(keep, b) end
    end
  end
  save(key, expKey, aor, keep, now, graceMs)
end
return cjson.encode(out)
`;
