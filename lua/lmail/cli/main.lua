--- lmail.cli.main: the `lmail` command (bin/lmail). Subcommands live in
-- lmail.cli.<name>; each module returns {command = <args spec>, run =
-- function(ctx, values, positional) -> exit code}. Errors are one line on
-- stderr ("lmail send: ..."), never with a password in it; the exit code
-- tells scripts what kind of failure it was (see EXIT below and docs/cli.md).
local args = require "lmail.cli.args"

local main = {}

main.SUBCOMMANDS = { "send", "list", "read", "save", "fetch" }

--- Exit codes, sysexits(3) where one fits (sendmail -t callers know them).
main.EXIT = {
  ok = 0,
  usage = 64,        -- EX_USAGE: bad command line
  dataerr = 65,      -- EX_DATAERR: the input message is malformed
  noinput = 66,      -- EX_NOINPUT: a file to read does not exist
  rejected = 67,     -- the server refused permanently (EREJECTED)
  network = 69,      -- EX_UNAVAILABLE: connect, timeout, connection lost
  software = 70,     -- EX_SOFTWARE: anything unexpected
  cantcreat = 73,    -- EX_CANTCREAT: an output file cannot be written
  tempfail = 75,     -- EX_TEMPFAIL: the server refused for now (ETEMPFAIL): retry later
  protocol = 76,     -- EX_PROTOCOL: the server broke the protocol (EPROTO, ETOOLONG)
  auth = 77,         -- EX_NOPERM: authentication failed (EAUTH)
  config = 78,       -- EX_CONFIG: bad config file, profile or variable
  tls = 79,          -- TLS failed or was required and missing (ETLS, ECERT, ETLSREQUIRED)
}

local BY_CODE = {
  ECONNREFUSED = "network", ETIMEDOUT = "network", EHOSTUNREACH = "network",
  ENAMERESOLVE = "network", ECLOSED = "network", EIO = "network",
  ETLS = "tls", ECERT = "tls", ETLSREQUIRED = "tls",
  EAUTH = "auth", EREJECTED = "rejected", ETEMPFAIL = "tempfail",
  EPROTO = "protocol", ETOOLONG = "protocol", EINVAL = "dataerr",
  -- The command's own codes (never returned by the library).
  EUSAGE = "usage", ECONFIG = "config", ENOINPUT = "noinput", ECANTCREAT = "cantcreat",
}

--- The exit code for an lmail error code string.
---@param code string|nil
---@return integer
function main.exit_for(code)
  return main.EXIT[BY_CODE[code or ""] or "software"]
end

--- Options every subcommand that talks to a server takes.
main.CONNECTION_OPTIONS = {
  { "profile", arg = "NAME", help = "account profile of the config file" },
  { "host", arg = "HOST", help = "server name or address" },
  { "port", arg = "PORT", help = "server port (the port picks the TLS mode)" },
  { "tls", arg = "MODE", help = "tls, starttls or none" },
  { "user", arg = "USER", help = "login name (password: LMAIL_PASSWORD or password_command)" },
  { "cafile", arg = "FILE", help = "trust these CA certificates (PEM) instead of the system's" },
  { "timeout", arg = "SECONDS", help = "deadline for each operation (default 30)" },
  { "insecure", help = "do not verify the server certificate (dangerous)" },
  { "allow-cleartext-auth", help = "allow sending credentials without TLS" },
}

local function load_subcommand(name)
  return require("lmail.cli." .. name)
end

local function usage_text()
  local lines = {
    "usage: lmail COMMAND [options]", "",
    "commands:",
    "  send    send a message (body on stdin; -t: a whole message on stdin)",
    "  list    list the mailbox (POP3)",
    "  read    print message N",
    "  save    save the attachments of message N into a directory",
    "  fetch   download the mailbox into a Maildir",
    "",
    "lmail COMMAND --help shows the options of a command.",
    "Settings also come from LMAIL_* variables and ~/.config/lmail/config.lua.",
  }
  return table.concat(lines, "\n") .. "\n"
end

--- Runs the command line argv (without the program name). ctx gives the
--- streams and environment: {stdin =, stdout =, stderr =, getenv =}
--- (defaults: io.stdin, io.stdout, io.stderr, os.getenv). Returns the exit
--- code.
---@param argv string[]
---@param ctx? table
---@return integer
function main.run(argv, ctx)
  ctx = ctx or {}
  ctx.stdin = ctx.stdin or io.stdin
  ctx.stdout = ctx.stdout or io.stdout
  ctx.stderr = ctx.stderr or io.stderr
  ctx.getenv = ctx.getenv or os.getenv
  local name = argv[1]
  if name == nil or name == "--help" or name == "-h" or name == "help" then
    ctx[name and "stdout" or "stderr"]:write(usage_text())
    return name and main.EXIT.ok or main.EXIT.usage
  end
  local known = false
  for _, n in ipairs(main.SUBCOMMANDS) do known = known or n == name end
  if not known then
    ctx.stderr:write("lmail: unknown command '", name, "' (lmail --help lists them)\n")
    return main.EXIT.usage
  end
  local sub = load_subcommand(name)
  local rest = {}
  for i = 2, #argv do rest[#rest + 1] = argv[i] end
  for _, a in ipairs(rest) do
    if a == "--help" or a == "-h" then
      ctx.stdout:write(args.help(sub.command))
      return main.EXIT.ok
    end
    if a == "--" then break end
  end
  local values, positional = args.parse(sub.command, rest)
  if not values then
    ctx.stderr:write("lmail ", name, ": ", positional, " (lmail ", name, " --help)\n")
    return main.EXIT.usage
  end
  ctx.name = name
  local ok, code = xpcall(sub.run, debug.traceback, ctx, values, positional)
  if not ok then
    ctx.stderr:write("lmail ", name, ": internal error: ", tostring(code), "\n")
    return main.EXIT.software
  end
  return code
end

--- Prints a failure in one line and returns its exit code.
---@param ctx table
---@param msg string
---@param code string|nil an lmail error code
---@return integer
function main.fail(ctx, msg, code)
  ctx.stderr:write("lmail ", ctx.name or "", ": ", (tostring(msg):gsub("[\r\n]+", " ")),
    code and (" [" .. code .. "]") or "", "\n")
  return main.exit_for(code)
end

return main
