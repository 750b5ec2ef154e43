--- lmail.maildir: safe delivery into a Maildir, and the UIDL state file of
-- lmail.fetch.
--
-- Delivery follows the Maildir rules (https://cr.yp.to/proto/maildir.html):
-- the message is written to tmp/<unique> (created exclusively, mode 0600),
-- made durable (fsync, or for a batch one syncfs) and closed, then moved to
-- new/<unique> without ever replacing a file (link + unlink), and new/
-- itself is fsync'd so the move is on disk too. A reader never sees a
-- partial message in new/; a failed or abandoned delivery leaves nothing in
-- new/ (abort removes the tmp file).
-- Unique names: <seconds>.M<usec>P<pid>Q<count>R<16 random hex>.<host>,
-- with "/" and ":" in the host name written as \057 and \072.
--
-- The state file records the UIDs already fetched for one account: a
-- header line "lmail-uidl-state 1 <account>", then one UID per line. New
-- UIDs are appended with one write per batch and fsync'd (st:flush); the
-- whole file is rewritten atomically (temporary file, fsync, rename, fsync
-- of the directory) when it is created, when a torn last line from a crash
-- is found, and by st:compact. A line that is not a complete, valid UID is
-- ignored, so a crash in the middle of an append loses nothing recorded
-- before it.
local core = require "lmail.core"

local fs = core.fs
local maildir = {}

local STATE_HEADER = "lmail-uidl-state 1 "

local Maildir = {}
Maildir.__index = Maildir
Maildir.__name = "lmail.maildir"

local Delivery = {}
Delivery.__index = Delivery
Delivery.__name = "lmail.maildir.delivery"

local function dirname(path)
  local d = path:match("^(.*)/[^/]*$")
  if d == nil then return "." end
  if d == "" then return "/" end
  return d
end

-- mkdir -p, mode 0700 for what it creates.
local function mkdirs(path)
  local prefix = path:sub(1, 1) == "/" and "/" or ""
  for part in path:gmatch("[^/]+") do
    prefix = prefix .. part
    local ok, msg, code = fs.mkdir(prefix, 448) -- 0700
    if not ok then return nil, msg, code end
    prefix = prefix .. "/"
  end
  return true
end

--- Opens (creating when needed) the Maildir at path: path/tmp, path/new,
--- path/cur.
---@param path string
---@return table|nil maildir
---@return string? message
---@return string? code
function maildir.open(path)
  if type(path) ~= "string" or path == "" then
    error("maildir.open: path must be a non-empty string", 2)
  end
  path = path:gsub("/+$", "")
  if path == "" then path = "/" end
  local ok, msg, code = mkdirs(path)
  for _, sub in ipairs({ "tmp", "new", "cur" }) do
    if not ok then break end
    ok, msg, code = fs.mkdir(path .. "/" .. sub, 448)
  end
  if not ok then return nil, "maildir.open: " .. msg, code end
  return setmetatable({ path = path, count = 0 }, Maildir)
end

-- Maildir: "/" and ":" never appear in the host part of a name.
local function host_part(host)
  return (host:gsub("/", "\\057"):gsub(":", "\\072"))
end

--- A fresh unique name for a message of this Maildir.
---@return string|nil name
function Maildir:unique()
  local sec, usec, pid, host, rnd = fs.unique()
  if not sec then return nil, usec, pid end
  self.count = self.count + 1
  return ("%d.M%dP%dQ%dR%s.%s"):format(sec, usec, pid, self.count, rnd, host_part(host))
end

--- Starts a delivery: a new file in tmp/.
---@return table|nil delivery
---@return string? message
---@return string? code
function Maildir:begin()
  local msg, code
  for _ = 1, 5 do
    local name
    name, msg, code = self:unique()
    if not name then break end
    local tmp = self.path .. "/tmp/" .. name
    local f
    f, msg, code = fs.open(tmp, "x")
    if f then
      return setmetatable({ md = self, name = name, tmp = tmp, file = f, size = 0 }, Delivery)
    end
  end
  return nil, "maildir: " .. tostring(msg), code or "EIO"
end

--- Appends bytes to the message.
---@param chunk string
---@return true|nil ok
function Delivery:write(chunk)
  if not self.file then error("delivery:write: the delivery is finished", 2) end
  local ok, msg, code = self.file:write(chunk)
  if not ok then return nil, "maildir: " .. msg, code end
  self.size = self.size + #chunk
  return true
end

--- An LTN12 sink writing into the message (the final nil does nothing:
--- call commit or abort).
---@return fun(chunk: string|nil, err: string|nil): integer|nil, string?
function Delivery:sink()
  return function(chunk)
    if chunk == nil then return 1 end
    local ok, msg = self:write(chunk)
    if not ok then return nil, msg end
    return 1
  end
end

-- Moves a synced, closed delivery into new/ under a name nobody has.
local function place(d)
  local name, msg, code = d.name, nil, nil
  for _ = 1, 5 do
    local target = d.md.path .. "/new/" .. name
    local ok
    ok, msg, code = fs.move(d.tmp, target)
    if ok then
      d.path = target
      return target
    end
    if ok ~= false then break end
    -- a file of that name exists in new/: never replace it
    name, msg, code = d.md:unique()
    if not name then break end
  end
  fs.unlink(d.tmp)
  return nil, "maildir: " .. tostring(msg or "cannot find a free name in new/"), code or "EIO"
end

--- Commits deliveries together: their data is made durable at once (one
--- syncfs on Linux, else an fsync of each), each file is closed and moved
--- into new/, and new/ is fsync'd. Returns the list of paths in new/; on
--- failure every delivery not yet moved is abandoned.
---@param list table[] deliveries of this Maildir
---@return string[]|nil paths
---@return string? message
---@return string? code
function Maildir:commit(list)
  local files = {}
  for i, d in ipairs(list) do
    if not d.file then error("maildir:commit: delivery " .. i .. " is finished", 2) end
    files[i] = d.file
  end
  local ok, msg, code = true, nil, nil
  if #files > 0 then ok, msg, code = fs.sync_files(files) end
  local paths = {}
  for i, d in ipairs(list) do
    if ok then
      d.file = nil
      ok, msg, code = files[i]:close()
      if ok then
        paths[i], msg, code = place(d)
        ok = paths[i] ~= nil
      end
    end
    if not ok then d:abort() end
  end
  if ok and #list > 0 then ok, msg, code = self:sync() end
  if not ok then
    return nil, (tostring(msg):find("^maildir: ") and "" or "maildir: ") .. tostring(msg), code
  end
  return paths
end

--- Commits this delivery alone (see maildir:commit) and returns its path.
---@return string|nil path
---@return string? message
---@return string? code
function Delivery:commit()
  if not self.file then error("delivery:commit: the delivery is finished", 2) end
  local paths, msg, code = self.md:commit({ self })
  if not paths then return nil, msg, code end
  return paths[1]
end

--- Abandons the delivery: the file in tmp/ is removed. Idempotent.
function Delivery:abort()
  if self.file then
    self.file:close()
    self.file = nil
  end
  if not self.path then fs.unlink(self.tmp) end
  return true
end

--- fsyncs new/ (maildir:commit does it for its deliveries).
---@return true|nil ok
function Maildir:sync()
  local ok, msg, code = fs.sync_dir(self.path .. "/new")
  if not ok then return nil, "maildir: " .. msg, code end
  return true
end

--- Delivers a whole message (a string, or an LTN12 source) and returns its
--- path in new/, synced.
---@param message string|function
---@return string|nil path
---@return string? message
---@return string? code
function Maildir:deliver(message)
  local tm = type(message)
  if tm ~= "string" and tm ~= "function" then
    error("maildir:deliver: message must be a string or an LTN12 source", 2)
  end
  local d, msg, code = self:begin()
  if not d then return nil, msg, code end
  local ok = true
  if tm == "string" then
    ok, msg, code = d:write(message)
  else
    while ok do
      local chunk, err = message()
      if chunk == nil then
        if err then ok, msg, code = nil, "maildir:deliver: the source failed: "
          .. tostring(err), "EIO" end
        break
      end
      ok, msg, code = d:write(chunk)
    end
  end
  if not ok then
    d:abort()
    return nil, msg, code
  end
  return d:commit()
end

-- ---- the UIDL state file ----

local State = {}
State.__index = State
State.__name = "lmail.maildir.uidl_state"

-- RFC 1939 7: 1..70 bytes of 0x21..0x7E.
local function valid_uid(s)
  return #s >= 1 and #s <= 70 and not s:find("[^\33-\126]")
end

local function read_all(path)
  local f, msg, errno = io.open(path, "rb")
  if not f then return nil, msg, errno end
  local data = f:read("a")
  f:close()
  return data or ""
end

-- Parses the file text into uids; returns clean (no torn or bad line).
local function parse_state(st, data)
  local header_end = data:find("\n", 1, true)
  if not header_end then return false end
  local header = data:sub(1, header_end - 1)
  if header:sub(1, #STATE_HEADER) ~= STATE_HEADER then
    return nil, ("maildir: %s is not an lmail UIDL state file"):format(st.path), "EINVAL"
  end
  local owner = header:sub(#STATE_HEADER + 1)
  if owner ~= st.account then
    return nil, ("maildir: the state file %s belongs to %q, not %q: use a state file per"
      .. " account"):format(st.path, owner, st.account), "EINVAL"
  end
  local clean, pos = true, header_end + 1
  while pos <= #data do
    local nl = data:find("\n", pos, true)
    if not nl then
      clean = false -- a torn last line
      break
    end
    local uid = data:sub(pos, nl - 1)
    if valid_uid(uid) then
      if not st.uids[uid] then
        st.uids[uid] = true
        st.count = st.count + 1
      end
    else
      clean = false
    end
    pos = nl + 1
  end
  return clean
end

--- Opens the state file of account at path (created when missing).
--- Refuses ("EINVAL") a file that belongs to another account.
---@param path string
---@param account string who the UIDs belong to, e.g. "user@host:port"
---@return table|nil state
---@return string? message
---@return string? code
function maildir.uidl_state(path, account)
  if type(path) ~= "string" or path == "" then
    error("maildir.uidl_state: path must be a non-empty string", 2)
  end
  if type(account) ~= "string" then
    error("maildir.uidl_state: account must be a string", 2)
  end
  local st = setmetatable({ path = path, account = account:gsub("[%c]", "?"), uids = {},
    count = 0, pending = {} }, State)
  local data, msg, errno = read_all(path)
  local clean = false
  if data then
    local err, code
    clean, err, code = parse_state(st, data)
    if clean == nil then return nil, err, code end
  elseif errno ~= 2 then -- anything but ENOENT
    return nil, "maildir: cannot read the state file: " .. tostring(msg), "EIO"
  end
  if not clean then
    local ok, err, code = st:compact()
    if not ok then return nil, err, code end
  end
  local f, err, code = fs.open(path, "a")
  if not f then return nil, "maildir: " .. err, code end
  st.file = f
  return st
end

--- Whether uid is recorded.
---@param uid string
---@return boolean
function State:has(uid)
  return self.uids[uid] == true
end

--- Records uid (on disk at the next flush).
---@param uid string
function State:add(uid)
  if not valid_uid(uid) then error("state:add: not a valid UID", 2) end
  if not self.uids[uid] then
    self.uids[uid] = true
    self.count = self.count + 1
    self.pending[#self.pending + 1] = uid
  end
end

--- Appends the UIDs added since the last flush (one write) and fsyncs.
---@return true|nil ok
function State:flush()
  if #self.pending == 0 then return true end
  if not self.file then error("state:flush: the state file is closed", 2) end
  local ok, msg, code = self.file:write(table.concat(self.pending, "\n") .. "\n")
  if ok then ok, msg, code = self.file:sync() end
  if not ok then return nil, "maildir: state file " .. self.path .. ": " .. msg, code end
  self.pending = {}
  return true
end

--- Rewrites the state file atomically, keeping the UIDs for which keep(uid)
--- is true (all without keep).
---@param keep? fun(uid: string): boolean
---@return true|nil ok
function State:compact(keep)
  local list = {}
  for uid in pairs(self.uids) do
    if keep == nil or keep(uid) then list[#list + 1] = uid end
  end
  table.sort(list)
  local _, _, _, _, rnd = fs.unique()
  local tmp = self.path .. ".tmp-" .. tostring(rnd)
  local f, msg, code = fs.open(tmp, "x")
  if not f then return nil, "maildir: " .. msg, code end
  local body = STATE_HEADER .. self.account .. "\n"
  if #list > 0 then body = body .. table.concat(list, "\n") .. "\n" end
  local ok
  ok, msg, code = f:write(body)
  if ok then ok, msg, code = f:sync() end
  if ok then ok, msg, code = f:close() else f:close() end
  if ok then ok, msg, code = fs.rename(tmp, self.path) end
  if ok then ok, msg, code = fs.sync_dir(dirname(self.path)) end
  if not ok then
    fs.unlink(tmp)
    return nil, "maildir: cannot write the state file: " .. msg, code
  end
  local uids = {}
  for _, uid in ipairs(list) do uids[uid] = true end
  self.uids, self.count, self.pending = uids, #list, {}
  if self.file then
    -- the append handle points at the replaced file
    self.file:close()
    self.file, msg, code = fs.open(self.path, "a")
    if not self.file then return nil, "maildir: " .. msg, code end
  end
  return true
end

--- Closes the append handle (after a flush). Idempotent.
function State:close()
  if self.file then
    self.file:close()
    self.file = nil
  end
  return true
end

return maildir
