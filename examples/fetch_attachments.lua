-- examples/fetch_attachments.lua: download a POP3 mailbox into a Maildir
-- (nothing is deleted before it is safely on disk; a rerun fetches only
-- what is new), then save every attachment of the new messages under a
-- name that cannot leave the directory.
--
--   LMAIL_POP3_HOST=pop.example.com LMAIL_POP3_USER=me LMAIL_POP3_PASSWORD=... \
--   lua5.4 fetch_attachments.lua ~/Mail/inbox ~/Mail/attachments
local lmail = require "lmail"
local mime = require "lmail.mime"
local stream = require "lmail.stream"
local text = require "lmail.text"

local maildir = assert(arg[1], "usage: fetch_attachments.lua MAILDIR ATTACHMENT_DIR")
local outdir = assert(arg[2], "usage: fetch_attachments.lua MAILDIR ATTACHMENT_DIR")
assert(os.execute("mkdir -p '" .. outdir:gsub("'", "'\\''") .. "'"))

local r, err, code = lmail.fetch{
  maildir = maildir,
  delete = os.getenv("FETCH_DELETE") == "1",
  progress = function(done, total) io.stderr:write(("\rfetched %d/%d"):format(done, total)) end,
}
if not r then
  io.stderr:write("fetch failed: ", err, " (", code, ")\n")
  os.exit(1)
end
io.stderr:write(("\n%d new, %d already here\n"):format(r.fetched, r.skipped))

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

local saved = 0
for _, path in ipairs(r.paths) do           -- the files of the new messages
  -- Parsed from the file in chunks: the message is never one Lua string.
  local m = assert(mime.parse(stream.source_file(assert(io.open(path, "rb")))))
  for _, a in ipairs(m:attachments()) do
    local name = text.safe_filename(a.filename)
    local target, k = outdir .. "/" .. name, 1
    while exists(target) do                 -- never overwrite
      k = k + 1
      target = ("%s/%d-%s"):format(outdir, k, name)
    end
    assert(a:save(target))
    saved = saved + 1
    print(("%s  <- %s (%s)"):format(target, text.sanitize(m:header("Subject") or ""),
      a.content_type))
  end
end
print(saved .. " attachment(s) saved")
