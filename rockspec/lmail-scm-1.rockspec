rockspec_format = "3.0"
package = "lmail"
version = "scm-1"
source = {
  url = "git+https://example.invalid/lmail.git",
}
description = {
  summary = "Email for Lua: SMTP, POP3, MIME and MD5 on a C core, safe by default",
  detailed = [[
lmail implements SMTP (STARTTLS, AUTH, pipelining), POP3, MIME building and
parsing, MD5/HMAC-MD5 and the byte codecs in C, with a thin Lua layer.
TLS verifies certificates and host names by default.]],
  license = "MIT",
}
dependencies = {
  "lua >= 5.1",
}
external_dependencies = {
  OPENSSL = { header = "openssl/ssl.h" },
}
build = {
  type = "make",
  build_target = "all",
  build_variables = {
    CFLAGS = "$(CFLAGS)",
    LIBFLAG = "$(LIBFLAG)",
    LUA_INCDIR = "$(LUA_INCDIR)",
    OPENSSL_DIR = "$(OPENSSL_DIR)",
    BUILD = "build-rock",
  },
  install_target = "install",
  install = {
    bin = { lmail = "bin/lmail" },
  },
  install_variables = {
    INST_LIBDIR = "$(LIBDIR)",
    INST_LUADIR = "$(LUADIR)",
  },
}
