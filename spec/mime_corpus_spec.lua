-- Python's own email test corpus (test/test_email/data/msg_*.txt of the
-- installed python3, Debian's libpython3.11-testsuite) read by lmail and by
-- Python's email package, compat32 and policy.default, as an independent
-- oracle: the same part tree, content types, decoded subject and file
-- names, and decoded payload bytes (MD5) for every file. Each difference is
-- listed below with the reason lmail's reading is the right one, and the
-- spec checks both that lmail reads the file as listed and that Python
-- still reads it differently (a list that went stale fails).
local mime = require "lmail.mime"
local json = require "dkjson"
local python = require "spec.support.python"
local mimetree = require "spec.support.mimetree"

local PYMIME = "spec/support/pymime.py"

local function describe_msg(m)
  local d = mimetree.lmail(m)
  d.subject = m:header("Subject")
  return d
end

-- Python's description without the extra fields the comparison leaves out.
local function shape(t)
  local s = t.ct
  if t.parts then
    local c = {}
    for i, p in ipairs(t.parts) do c[i] = shape(p) end
    s = s .. "(" .. table.concat(c, ", ") .. ")"
  end
  return s
end

-- Files where lmail and Python differ, why lmail is right, and what lmail
-- reads (checked).
local KNOWN = {
  ["msg_15.txt"] = {
    policies = { compat32 = true, default = true },
    reason = "a multipart/alternative nested in a multipart/mixed with the same boundary. "
      .. "RFC 2046 5.1.1 forbids reuse, so any reading is recovery; Python lets the outer "
      .. "multipart take every delimiter and loses the attachment (its image/gif becomes "
      .. "text/html and the alternative a 1-byte leaf). lmail lets the innermost open "
      .. "multipart own its delimiters until it is closed, which gives the structure the "
      .. "sender built: alternative(text, html) and the xx.gif attachment.",
    shape = "multipart/mixed(multipart/alternative(text/plain, text/html), image/gif)",
  },
  ["msg_39.txt"] = {
    policies = { compat32 = true, default = true },
    reason = "the same boundary reused by nested multiparts (as msg_15): Python flattens the "
      .. "three alternatives into empty leaves and loses four of the six patches; lmail "
      .. "keeps each alternative with its two patches.",
    shape = "multipart/mixed(multipart/mixed(multipart/alternative(application/octet-stream, "
      .. "application/octet-stream), multipart/alternative(application/octet-stream, "
      .. "application/octet-stream), multipart/alternative(application/octet-stream, "
      .. "application/octet-stream)), text/plain)",
  },
  ["msg_16.txt"] = {
    policies = { compat32 = true, default = true },
    reason = "message/delivery-status (RFC 3464) is one text body of DSN fields; Python splits "
      .. "it into header-only sub-messages with empty payloads, so its payload bytes are "
      .. "gone. lmail keeps it a leaf whose body is the report text.",
    shape = "multipart/report(text/plain, message/delivery-status, message/rfc822(text/plain))",
  },
  ["msg_43.txt"] = {
    policies = { compat32 = true, default = true },
    reason = "message/delivery-status kept as one text leaf (see msg_16.txt).",
    shape = "multipart/report(text/plain, message/delivery-status, text/rfc822-headers)",
  },
  ["msg_27.txt"] = {
    policies = { compat32 = true },
    reason = "compat32 keeps the folding line breaks in the decoded Subject; RFC 5322 2.2.3 "
      .. "says a folded field is unfolded by removing each CRLF before white space, as "
      .. "lmail and policy.default both do.",
    shape = "text/plain",
  },
}

local function same(a, b)
  if type(a) ~= type(b) then return false end
  if type(a) ~= "table" then return a == b end
  for k, v in pairs(a) do if not same(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end

describe("lmail.mime against Python's email test corpus", function()
  local datadir = python.run(PYMIME .. " datadir"):gsub("%s+$", "")
  local files = {}
  for name in io.popen("env -u LD_PRELOAD ls " .. python.quote(datadir)):lines() do
    if name:match("^msg_.*%.txt$") then files[#files + 1] = name end
  end
  table.sort(files)
  local paths = {}
  for i, f in ipairs(files) do paths[i] = python.quote(datadir .. "/" .. f) end
  local oracle = {}
  for line in python.run(PYMIME .. " describe " .. table.concat(paths, " ")):gmatch("[^\n]+") do
    local d = assert(json.decode(line))
    oracle[d.file] = d
  end

  it("finds the whole corpus (" .. datadir .. ")", function()
    assert.is_true(#files >= 40, "only " .. #files .. " msg_*.txt files in " .. datadir)
    for _, f in ipairs(files) do assert.truthy(oracle[f], f .. " has no Python reading") end
  end)

  for _, f in ipairs(files) do
    it("reads " .. f .. " as Python's email does (or as listed)", function()
      local fh = assert(io.open(datadir .. "/" .. f, "rb"))
      local raw = fh:read("a")
      fh:close()
      local m = assert(mime.parse(raw))
      local mine = describe_msg(m)
      local known = KNOWN[f]
      for _, policy in ipairs({ "compat32", "default" }) do
        local theirs = oracle[f][policy]
        assert.is_nil(theirs.error, f .. " " .. policy .. ": " .. tostring(theirs.error))
        local want = mimetree.python(theirs)
        want.subject = theirs.subject ~= json.null and theirs.subject or nil
        if known and known.policies[policy] then
          assert.is_false(same(mine, want), f .. ": listed as different but Python now agrees ("
            .. policy .. ")")
          assert.are.equal(known.shape, shape(mine), known.reason)
        else
          assert.are.same(want, mine, f .. " (" .. policy .. ")")
        end
      end
      -- the same reading from a source fed in small chunks
      local pos = 0
      local m2 = assert(mime.parse(function()
        if pos >= #raw then return nil end
        pos = pos + 7
        return raw:sub(pos - 6, pos)
      end))
      assert.are.same(mine, describe_msg(m2))
    end)
  end

  it("gives the plain-text body policy.default's get_body() gives", function()
    local checked = 0
    for _, f in ipairs(files) do
      local theirs = oracle[f].default.text
      if theirs and not KNOWN[f] then
        local fh = assert(io.open(datadir .. "/" .. f, "rb"))
        local m = assert(mime.parse(fh:read("a")))
        fh:close()
        assert.are.equal(theirs, m:text(), f)
        checked = checked + 1
      end
    end
    assert.is_true(checked >= 30, "only " .. checked .. " plain-text bodies compared")
  end)
end)
