--- spec/support/files.lua: whole-file reads for the specs and their helpers.
local files = {}

--- The bytes of the file at path, or nil and the reason when it cannot be
--- opened.
---@param path string
---@return string|nil bytes
---@return string? err
function files.read(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local s = f:read("*a")
  f:close()
  return s
end

return files
