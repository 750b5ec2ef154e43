-- spec/support/mimetree.lua: the part tree of a message as the MIME specs
-- compare it with Python's email (spec/support/pymime.py describes
-- Python's reading in the same shape): content type, file name, and for
-- leaves the MD5 and size of the decoded payload.
local md5 = require "lmail.md5"

local mimetree = {}

--- lmail's reading of part p.
function mimetree.lmail(p)
  local n = { ct = p.content_type, filename = p.filename }
  if p.parts then
    n.parts = {}
    for i, c in ipairs(p.parts) do n.parts[i] = mimetree.lmail(c) end
  else
    local b = p:body()
    n.md5, n.size = md5.hex(b), #b
  end
  return n
end

--- Python's reading (a decoded JSON tree) without the fields the
-- comparison leaves out.
function mimetree.python(t)
  local n = { ct = t.ct, filename = t.filename, md5 = t.md5, size = t.size }
  if t.parts then
    n.parts = {}
    for i, c in ipairs(t.parts) do n.parts[i] = mimetree.python(c) end
  end
  return n
end

return mimetree
