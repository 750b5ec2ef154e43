-- lmail.crypto: random bytes, unbiased codes, constant-time equality.
local crypto = require "lmail.crypto"

describe("lmail.crypto", function()
  it("gives random bytes of the asked length, different each time", function()
    assert.are.equal(0, #crypto.random_bytes(0))
    assert.are.equal(32, #crypto.random_bytes(32))
    assert.are.equal(1048576, #crypto.random_bytes(1048576))
    assert.are_not.equal(crypto.random_bytes(16), crypto.random_bytes(16))
    assert.has_error(function() crypto.random_bytes(-1) end)
    assert.has_error(function() crypto.random_bytes(1048577) end)
  end)

  it("makes codes of decimal digits, each digit uniform", function()
    local counts = {}
    for d = 0, 9 do counts[d] = 0 end
    for _ = 1, 2000 do
      local code = crypto.random_code()
      assert.matches("^%d%d%d%d%d%d$", code)
      for ch in code:gmatch("%d") do counts[tonumber(ch)] = counts[tonumber(ch)] + 1 end
    end
    -- 12,000 digits: each expected 1,200; a chi-square statistic over 10
    -- bins above 27.9 has probability below 0.001 for a uniform source.
    local chi = 0
    for d = 0, 9 do chi = chi + (counts[d] - 1200) ^ 2 / 1200 end
    assert.is_true(chi < 27.9, "digits look biased, chi-square " .. chi)
    assert.matches("^%d+$", crypto.random_code(64))
    assert.has_error(function() crypto.random_code(0) end)
  end)

  it("draws below n without bias, including n that does not divide 2^32", function()
    for _ = 1, 200 do
      local v = crypto.random_below(3)
      assert.is_true(v >= 0 and v < 3)
    end
    assert.are.equal(0, crypto.random_below(1))
    assert.has_error(function() crypto.random_below(0) end)
    assert.has_error(function() crypto.random_below(1.5) end)
  end)

  it("compares strings for equality", function()
    assert.is_true(crypto.equal("123456", "123456"))
    assert.is_false(crypto.equal("123456", "123457"))
    assert.is_false(crypto.equal("123456", "12345"))
    assert.is_false(crypto.equal("", "x"))
    assert.is_true(crypto.equal("", ""))
    assert.is_false(crypto.equal("a\0b", "a\0c"))
  end)
end)
