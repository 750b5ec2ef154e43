--- lmail.errors: the stable error code strings every function returns as
-- the third value of a run-time failure (nil, message, code [, detail]).
local errors = {
  EINVAL = "EINVAL",             -- malformed input
  EPROTO = "EPROTO",             -- the peer broke the protocol
  ETOOLONG = "ETOOLONG",         -- a configured limit was exceeded
  ECLOSED = "ECLOSED",           -- the connection was closed
  ETIMEDOUT = "ETIMEDOUT",       -- a deadline passed
  ECONNREFUSED = "ECONNREFUSED",
  EHOSTUNREACH = "EHOSTUNREACH",
  ENAMERESOLVE = "ENAMERESOLVE", -- the host name did not resolve
  ETLS = "ETLS",                 -- TLS failure other than certificate checks
  ECERT = "ECERT",               -- certificate verification failed
  ETLSREQUIRED = "ETLSREQUIRED", -- TLS was required and is not available
  EAUTH = "EAUTH",               -- authentication failed
  EREJECTED = "EREJECTED",       -- permanent refusal by the server (5xx, -ERR)
  ETEMPFAIL = "ETEMPFAIL",       -- transient refusal by the server (4xx)
  ENOMEM = "ENOMEM",
  EIO = "EIO",
}
return errors
