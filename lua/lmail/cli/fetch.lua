--- lmail.cli.fetch: `lmail fetch --maildir DIR [--delete]` runs lmail.fetch
-- (nothing is deleted on the server before it is safely on disk) with a
-- progress bar on a terminal, plain lines otherwise.
local common = require "lmail.cli.common"
local main = require "lmail.cli.main"

local fetch = {}

local options = {
  { "maildir", arg = "DIR", help = "the Maildir to deliver into (created when missing)" },
  { "delete", help = "delete each message from the server once it is on disk" },
  { "state", arg = "FILE", help = "where to remember fetched UIDs (default: in the Maildir)" },
}
for _, o in ipairs(main.CONNECTION_OPTIONS) do options[#options + 1] = o end

fetch.command = {
  name = "fetch",
  usage = "lmail fetch --maildir DIR [--delete] [options]",
  summary = "Download new messages of a POP3 mailbox into a Maildir.",
  options = options,
}

--- A progress(done, total, bytes) callback writing to fh: a redrawn bar
--- when tty, else one line per message.
function fetch.progress(fh, tty)
  return function(done, total, bytes)
    if tty then
      local width = 30
      local filled = total > 0 and math.floor(width * done / total) or width
      fh:write(string.format("\r[%s%s] %d/%d  %.1f MB", string.rep("#", filled),
        string.rep(".", width - filled), done, total, bytes / 1e6))
      if done == total then fh:write("\n") end
    else
      fh:write(string.format("fetched %d/%d (%d bytes)\n", done, total, bytes))
    end
    fh:flush()
  end
end

function fetch.run(ctx, values, positional)
  if #positional > 0 then
    return main.fail(ctx, "unexpected argument " .. positional[1], "EUSAGE")
  end
  if not values.maildir then return main.fail(ctx, "give --maildir DIR", "EUSAGE") end
  local s, msg, code = common.settings(ctx, "pop3", values)
  if not s then return main.fail(ctx, msg, code) end
  local lmail = require "lmail"
  local tty = ctx.stderr == io.stderr and common.isatty(2)
  local r
  r, msg, code = lmail.fetch(common.with(s, {
    maildir = values.maildir, delete = values.delete == true, state = values.state,
    progress = fetch.progress(ctx.stderr, tty),
  }))
  if not r then return main.fail(ctx, msg, code) end
  ctx.stdout:write(string.format("%d fetched, %d already here\n", r.fetched, r.skipped))
  return main.EXIT.ok
end

return fetch
