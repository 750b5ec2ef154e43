--- lmail.md5: MD5 (RFC 1321) and HMAC-MD5 (RFC 2104), implemented in C
-- (csrc/core/lm_md5.c, no OpenSSL). Misuse (a non-string argument, a call
-- on a finished context, a wrong self) raises an error whose message starts
-- with the function name ("md5.sum: ...", "md5:update: ...").
--
-- The one-shot functions are the C functions themselves, not Lua wrappers:
-- a wrapper costs a Lua call (about 10% of md5.sum on a short string), and
-- these are called per message by CRAM-MD5 and APOP. LuaLS reads their
-- signatures from the @type lines.
local core = require "lmail.core"

local c = core.md5
local md5 = {}

---A streaming MD5 computation (userdata, metatable `__name` "lmail.md5.context").
---It is finished after digest() or hexdigest(): any further call raises.
---@class lmail.md5.context
---@field update fun(self: lmail.md5.context, s: string): lmail.md5.context feeds s; returns self
---@field digest fun(self: lmail.md5.context): string the 16-byte binary digest
---@field hexdigest fun(self: lmail.md5.context): string the digest as 32 lowercase hex chars

--- md5.sum(s) -> the 16-byte binary MD5 digest of s.
---@type fun(s: string): string
md5.sum = c.sum

--- md5.hex(s) -> the MD5 digest of s as 32 lowercase hex characters.
---@type fun(s: string): string
md5.hex = c.hex

--- md5.hmac(key, s) -> the 16-byte binary HMAC-MD5 (RFC 2104) of s under
--- key; a key longer than 64 bytes is hashed first (RFC 2104 section 3).
---@type fun(key: string, s: string): string
md5.hmac = c.hmac

--- md5.hmac_hex(key, s) -> the HMAC-MD5 as 32 lowercase hex characters.
---@type fun(key: string, s: string): string
md5.hmac_hex = c.hmac_hex

--- A new streaming context: h:update(s) any number of times, any chunk
--- sizes (it returns h), then h:digest() or h:hexdigest().
---@return lmail.md5.context
function md5.new()
  return c.new()
end

return md5
