--- lmail.fetch: the safe mailbox download behind lmail.fetch{...}.
--
-- Nothing is ever lost:
-- 1. log in, read UIDL (and LIST for the sizes);
-- 2. for each message whose UID the state file lacks: RETR streamed into
--    the Maildir's tmp/ (lmail.maildir);
-- 3. after each batch of received messages (64 messages or 8 MiB): their
--    data flushed (one syncfs on Linux, else fsync of each), each moved
--    into new/, new/ fsync'd, then the batch's UIDs appended to the state
--    file and fsync'd, so a UID is recorded only once its message is on
--    disk, and a crash can at worst leave one batch in new/ unrecorded
--    (fetched again: a duplicate, never a loss);
-- 4. with delete = true, DELE every message whose UID is recorded (this run
--    or an earlier one), and QUIT: the server deletes only at QUIT, which is
--    sent only after everything fetched is on disk and recorded.
-- Any failure drops the connection without QUIT, so the server keeps every
-- message; what was saved is recorded, and the next run fetches only the
-- rest. A message the server refuses (-ERR) or one over max_message_size
-- is reported in `failed` and left on the server.
local pop3 = require "lmail.pop3"
local maildir = require "lmail.maildir"
local connect = require "lmail.connect"

local fetch = {}

-- A batch of received messages is committed together (one flush of their
-- data) when it holds this many messages or bytes.
local BATCH_COUNT = 64
local BATCH_BYTES = 8 * 1048576

local PROFILE = { name = "lmail.fetch", default_port = 995, tls_port = 995, plain_port = 110 }

-- Options passed through to pop3.open.
local SESSION_OPTS = { "host", "port", "tls", "timeout", "cafile", "capath", "cert", "key",
  "servername", "insecure", "tls_context", "allow_cleartext_auth", "transport", "tls_upgrade",
  "max_line", "max_message_size", "max_entries", "pipeline", "user", "password", "mechanism" }

local function check(opts)
  if type(opts) ~= "table" then error("lmail.fetch: options must be a table", 3) end
  for _, k in ipairs({ "maildir", "user", "password" }) do
    if type(opts[k]) ~= "string" then error("lmail.fetch: opts." .. k .. " must be a string", 3) end
  end
  if opts.state ~= nil and type(opts.state) ~= "string" then
    error("lmail.fetch: opts.state must be a string", 3)
  end
  if opts.delete ~= nil and type(opts.delete) ~= "boolean" then
    error("lmail.fetch: opts.delete must be a boolean", 3)
  end
  if opts.progress ~= nil and type(opts.progress) ~= "function" then
    error("lmail.fetch: opts.progress must be a function", 3)
  end
  -- the connection options are checked here too, so misuse raises early
  return connect.settings(opts, PROFILE)
end

-- "alice@mail.example.com:995", and a file-name-safe form of it.
local function account_of(opts, settings)
  local where = settings.host or "transport"
  local account = opts.user .. "@" .. where .. ":" .. tostring(settings.port)
  local safe = account:gsub("[^%w%.%-_@:]", "_"):gsub(":", "_")
  if #safe > 120 then safe = safe:sub(1, 120) end
  return account, safe
end

local function session_opts(opts)
  local o = {}
  for _, k in ipairs(SESSION_OPTS) do o[k] = opts[k] end
  return o
end

-- The run itself; cleanup of the session and the state is the caller's.
local function run(opts, ctx)
  local md, msg, code = maildir.open(opts.maildir)
  if not md then return nil, msg, code end
  local account, safe = account_of(opts, ctx.settings)
  local st
  st, msg, code = maildir.uidl_state(opts.state or (md.path .. "/lmail-uidl-" .. safe), account)
  if not st then return nil, msg, code end
  ctx.state = st

  local p, detail
  p, msg, code, detail = pop3.open(session_opts(opts))
  if not p then return nil, msg, code, detail end
  ctx.session = p

  local uids, sizes
  uids, msg, code, detail = p:uidl()
  if not uids then
    if code == "EREJECTED" then
      msg = msg .. " (lmail.fetch needs UIDL to know what it already has)"
    end
    return nil, msg, code, detail
  end
  sizes, msg, code, detail = p:list()
  if not sizes then return nil, msg, code, detail end

  local result = { fetched = 0, skipped = 0, deleted = 0, bytes = 0, paths = {}, failed = {} }
  ctx.result = result
  local nums, todo = {}, {}
  for n in pairs(uids) do nums[#nums + 1] = n end
  table.sort(nums)
  local limit = opts.max_message_size
  for _, n in ipairs(nums) do
    if st:has(uids[n]) then
      result.skipped = result.skipped + 1
    elseif limit and sizes[n] and sizes[n] > limit then
      result.failed[#result.failed + 1] = { n = n, uid = uids[n], code = "ETOOLONG",
        message = ("message %d is %d bytes, over max_message_size"):format(n, sizes[n]) }
    else
      todo[#todo + 1] = n
    end
  end

  -- Received messages waiting in tmp/ for their batch to be committed:
  -- one flush of their data, the moves into new/, an fsync of new/, then
  -- their UIDs appended to the state file and fsync'd.
  local pending, pending_bytes = {}, 0
  local function commit_pending()
    if #pending == 0 then return true end
    local list = {}
    for i, e in ipairs(pending) do list[i] = e.delivery end
    local paths, err, ecode = md:commit(list)
    if not paths then
      pending, pending_bytes = {}, 0
      return nil, err, ecode
    end
    for i, e in ipairs(pending) do
      result.fetched = result.fetched + 1
      result.bytes = result.bytes + e.delivery.size
      result.paths[#result.paths + 1] = paths[i]
      st:add(e.uid)
    end
    pending, pending_bytes = {}, 0
    return st:flush()
  end
  ctx.record = commit_pending

  local received, received_bytes = 0, 0
  local function open()
    local d, err, ecode = md:begin()
    if not d then return nil, err, ecode end
    ctx.current = d
    return d:sink()
  end
  local function done(n, ok, err, ecode, edetail)
    if not ok then
      result.failed[#result.failed + 1] = { n = n, uid = uids[n], code = ecode, message = err,
        detail = edetail }
      return true
    end
    local d = ctx.current
    ctx.current = nil
    pending[#pending + 1] = { delivery = d, uid = uids[n] }
    pending_bytes = pending_bytes + d.size
    received, received_bytes = received + 1, received_bytes + d.size
    if #pending >= BATCH_COUNT or pending_bytes >= BATCH_BYTES then
      local cok, cerr, ccode = commit_pending()
      if not cok then return nil, cerr, ccode end
    end
    if opts.progress then opts.progress(received, #todo, received_bytes) end
    return true
  end
  local ok
  ok, msg, code, detail = p:retr_many(todo, open, done)
  if not ok then return nil, msg, code, detail end
  ok, msg, code = commit_pending()
  if not ok then return nil, msg, code end

  local deleted = {}
  if opts.delete then
    local marked = {}
    for _, n in ipairs(nums) do
      if st:has(uids[n]) then marked[#marked + 1] = n end
    end
    local count, refusals, dcode, ddetail = p:dele_many(marked)
    if not count then return nil, refusals, dcode, ddetail end
    local refused = {}
    for _, r in ipairs(refusals) do refused[r.n] = true end
    for _, n in ipairs(marked) do
      if not refused[n] then deleted[uids[n]] = true end
    end
    result.deleted = count
  end

  ok, msg, code, detail = p:quit()
  ctx.session = nil
  if not ok then return nil, msg, code, detail end
  -- The server has committed: forget the UIDs it no longer has.
  local present = {}
  for _, n in ipairs(nums) do
    if not deleted[uids[n]] then present[uids[n]] = true end
  end
  ok, msg, code = st:compact(function(uid) return present[uid] end)
  if not ok then return nil, msg, code end
  return result
end

--- Downloads a POP3 mailbox into a Maildir without ever losing a message
--- (see the module comment). Options: those of pop3.open (host, port, tls,
--- timeout, cafile, insecure, allow_cleartext_auth, mechanism, ...) and
--- maildir (required), user, password (required), delete (default false),
--- state (default <maildir>/lmail-uidl-<user@host_port>), progress
--- (function(done, total, bytes), called after each saved message).
---@param opts table
---@return table|nil result {fetched =, skipped =, deleted =, bytes =, paths =, failed =}
---@return string? message
---@return string? code
---@return table? detail
function fetch.run(opts)
  local settings = check(opts)
  local ctx = { settings = settings }
  local ok, res, msg, code, detail = pcall(run, opts, ctx)
  if ctx.current then ctx.current:abort() end
  if not (ok and res) and ctx.record then
    -- the complete messages received before the failure are committed
    pcall(ctx.record)
  end
  if ctx.session then ctx.session:close() end -- no QUIT: the server keeps everything
  if ctx.state then ctx.state:close() end
  if not ok then error(res, 0) end
  if not res then
    detail = detail or {}
    if ctx.result then
      detail.fetched, detail.skipped = ctx.result.fetched, ctx.result.skipped
      detail.paths = ctx.result.paths
    end
    return nil, msg, code, detail
  end
  return res
end

return fetch
