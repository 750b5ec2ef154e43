-- spec/support/transcript.lua: S:/C: transcripts (curl's tests/data idea,
-- DESIGN.md section 7) replayed through lmail.transport.memory.
--   local steps = transcript.load("spec/fixtures/smtp/basic.txt")   -- or transcript text
--   transcript.each_split(steps, function(t, label) ... end)
-- Format (see lua/lmail/transport/memory.lua): "S: line" / "C: line" get CRLF
-- appended; "S= bytes" / "C= bytes" do not and decode \r \n \t \\ \xHH;
-- "!close", "!timeout"; "#" comments and blank lines are ignored.
local memory = require "lmail.transport.memory"

local transcript = {}

local read_file = require("spec.support.files").read

--- Steps from a file name or from transcript text (anything with a newline,
-- or that names no readable file, is text).
function transcript.load(src)
  if type(src) == "table" then return src end
  assert(type(src) == "string", "transcript.load: a path, transcript text or steps expected")
  local text = not src:find("\n") and read_file(src) or src
  return memory.parse(text)
end

--- One memory transport replaying src with the given chunking options.
function transcript.transport(src, opts)
  return memory.new(transcript.load(src), opts)
end

--- The chunking variants each_split runs, as {label, memory options}.
function transcript.variants(opts)
  opts = opts or {}
  local v = {
    { "whole", { chunking = "whole" } },
    { "byte by byte", { chunking = "bytes" } },
  }
  for r = 1, opts.random or 10 do
    v[#v + 1] = { "random chunks (seed " .. r .. ")",
      { chunking = "random", seed = r, max_chunk = opts.max_chunk or 17 } }
  end
  return v
end

--- Runs fn(transport, label) once per variant: the server side replayed
-- whole, byte by byte, and in opts.random (10) random chunkings. After each
-- run the script must have been played to its end unless
-- opts.allow_unfinished; errors name the variant.
function transcript.each_split(src, fn, opts)
  opts = opts or {}
  local steps = transcript.load(src)
  for _, v in ipairs(transcript.variants(opts)) do
    local label = v[1]
    local t = memory.new(steps, v[2])
    local ok, err = pcall(fn, t, label)
    if not ok then
      -- keep luassert's failure objects (busted reports them as failures)
      if type(err) == "table" and type(err.message) == "string" then
        err.message = ("[%s] %s"):format(label, err.message)
        error(err, 0)
      end
      error(("[%s] %s"):format(label, tostring(err)), 0)
    end
    if not opts.allow_unfinished then
      local done, why = pcall(t.assert_done, t)
      if not done then error(("[%s] %s"):format(label, tostring(why)), 0) end
    end
  end
end

return transcript
