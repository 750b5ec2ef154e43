--- lmail.mime.types: content types by file extension, the small built-in
-- table mime.message uses for attachments (an attachment's content_type
-- overrides it). Anything unknown is application/octet-stream.
local types = {}

local BY_EXT = {
  txt = "text/plain", text = "text/plain", log = "text/plain", csv = "text/csv",
  tsv = "text/tab-separated-values", htm = "text/html", html = "text/html",
  css = "text/css", xml = "text/xml", md = "text/markdown", ics = "text/calendar",
  vcf = "text/vcard", eml = "message/rfc822", json = "application/json",
  js = "text/javascript", pdf = "application/pdf", zip = "application/zip",
  gz = "application/gzip", tgz = "application/gzip", tar = "application/x-tar",
  ["7z"] = "application/x-7z-compressed", rar = "application/vnd.rar",
  doc = "application/msword", xls = "application/vnd.ms-excel",
  ppt = "application/vnd.ms-powerpoint",
  docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  pptx = "application/vnd.openxmlformats-officedocument.presentationml.presentation",
  odt = "application/vnd.oasis.opendocument.text",
  ods = "application/vnd.oasis.opendocument.spreadsheet",
  rtf = "application/rtf", png = "image/png", jpg = "image/jpeg", jpeg = "image/jpeg",
  gif = "image/gif", webp = "image/webp", svg = "image/svg+xml", bmp = "image/bmp",
  ico = "image/vnd.microsoft.icon", tif = "image/tiff", tiff = "image/tiff",
  heic = "image/heic", mp3 = "audio/mpeg", wav = "audio/wav", ogg = "audio/ogg",
  m4a = "audio/mp4", mp4 = "video/mp4", mov = "video/quicktime", webm = "video/webm",
  avi = "video/x-msvideo", p7s = "application/pkcs7-signature", asc = "application/pgp-signature",
  bin = "application/octet-stream",
}

--- The content type for a file name ("report.pdf" -> "application/pdf").
---@param filename string
---@return string
function types.for_name(filename)
  local ext = filename:match("%.([^./\\]+)$")
  return ext and BY_EXT[ext:lower()] or "application/octet-stream"
end

return types
