--- lmail.crypto: the few cryptographic helpers mail code needs: random
-- bytes from OpenSSL's generator, unbiased random numbers and codes, and
-- a comparison whose time does not reveal where two secrets differ.
local core = require "lmail.core"

local c = core.crypto
local crypto = {}

--- n (0..1048576) random bytes from OpenSSL's RAND_bytes, or nil, msg, "EIO".
---@type fun(n: integer): string|nil, string?, string?
crypto.random_bytes = c.random_bytes

--- Whether two strings are equal, in time that depends only on their
--- lengths (for checking a submitted code or token).
---@type fun(a: string, b: string): boolean
crypto.equal = c.equal

--- A random integer in [0, n) with no modulo bias (1 <= n <= 2^32):
--- 32-bit draws at or above the largest multiple of n are thrown away
--- and drawn again.
---@param n integer
---@return integer|nil
---@return string? message
---@return string? code
function crypto.random_below(n)
  if type(n) ~= "number" or n < 1 or n > 4294967296 or n % 1 ~= 0 then
    error("crypto.random_below: n must be an integer 1..2^32", 2)
  end
  local limit = 4294967296 - 4294967296 % n
  while true do
    local b, msg, code = c.random_bytes(4)
    if not b then return nil, msg, code end
    local b1, b2, b3, b4 = b:byte(1, 4)
    local v = ((b1 * 256 + b2) * 256 + b3) * 256 + b4
    if v < limit then return v % n end
  end
end

--- A string of `digits` random decimal digits (default 6), each uniform:
--- a verification code.
---@param digits? integer 1..64
---@return string|nil
---@return string? message
---@return string? code
function crypto.random_code(digits)
  digits = digits or 6
  if type(digits) ~= "number" or digits < 1 or digits > 64 or digits % 1 ~= 0 then
    error("crypto.random_code: digits must be an integer 1..64", 2)
  end
  local out = {}
  for i = 1, digits do
    local d, msg, code = crypto.random_below(10)
    if not d then return nil, msg, code end
    out[i] = string.char(48 + d)
  end
  return table.concat(out)
end

return crypto
