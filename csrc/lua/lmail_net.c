/* lmail_net.c: binding of the TCP transport (csrc/net/lm_net.h) as
 * lmail.core.net; lua/lmail/transport/tcp.lua is its public face. */
#include "lmail_aux.h"

#include <string.h>

#include "../net/lm_net.h"

#define SOCK_MT "lmail.net.socket"

/* receive(max) hands back at most this much per call (the contract allows
 * any 1..max); the buffer lives in the userdata, so receiving allocates
 * nothing but the result string. */
#define RECV_CHUNK 65536

typedef struct net_socket {
    int fd;          /* -1 once closed */
    double timeout;  /* seconds per operation; < 0: none */
    double deadline; /* absolute lm_net_now() value; < 0: none */
    char buf[RECV_CHUNK];
} net_socket;

static net_socket *check_open(lua_State *L, const char *what)
{
    net_socket *s = luaL_checkudata(L, 1, SOCK_MT);
    if (s->fd < 0)
        luaL_error(L, "%s: socket is closed", what);
    return s;
}

/* The deadline of one operation: the nearer of now + timeout and the
 * absolute deadline set with setdeadline. */
static double op_deadline(const net_socket *s)
{
    double d = s->timeout >= 0 ? lm_net_now() + s->timeout : LM_NET_NO_DEADLINE;
    if (s->deadline >= 0 && (d < 0 || s->deadline < d))
        d = s->deadline;
    return d;
}

/* nil or a number >= 0; nil means "none" (-1). */
static double opt_seconds(lua_State *L, int idx)
{
    double v;
    if (lua_isnoneornil(L, idx))
        return LM_NET_NO_DEADLINE;
    v = (double)luaL_checknumber(L, idx);
    luaL_argcheck(L, v >= 0 && v == v, idx, "must be a number >= 0 or nil");
    return v;
}

/* Port as the string getaddrinfo wants: an integer 1..65535 or a service
 * name. NULL when the value is out of range. */
static const char *port_string(lua_State *L, int idx)
{
    if (lua_type(L, idx) == LUA_TNUMBER) {
        lua_Integer p = luaL_checkinteger(L, idx);
        if (p < 1 || p > 65535)
            return NULL;
        return lua_pushfstring(L, "%d", (int)p);
    }
    return luaL_checkstring(L, idx);
}

/* core.net.connect(host, port [, timeout]) -> socket | nil, msg, code
 * timeout (seconds, nil = none) bounds the whole connect and becomes the
 * socket's per-operation timeout. */
static int net_connect(lua_State *L)
{
    const char *host = luaL_checkstring(L, 1);
    const char *port = port_string(L, 2);
    double timeout = opt_seconds(L, 3);
    net_socket *s;
    int rc;
    if (!port || !*host || !*port)
        return lmail_fail(L, "tcp.connect: invalid host or port", "EINVAL");
    s = lua_newuserdatauv(L, sizeof *s, 0);
    s->fd = -1;
    s->timeout = timeout;
    s->deadline = LM_NET_NO_DEADLINE;
    luaL_getmetatable(L, SOCK_MT);
    lua_setmetatable(L, -2);
    rc = lm_net_connect(&s->fd, host, port, op_deadline(s));
    if (rc != LM_OK) {
        lua_pushfstring(L, "tcp.connect to %s port %s", host, port);
        return lmail_fail_rc(L, lua_tostring(L, -1), rc);
    }
    return 1;
}

/* core.net.sleep(seconds) -> nothing; blocks the thread (rate limits,
 * schedulers with nothing to do) */
static int net_sleep(lua_State *L)
{
    lua_Number s = luaL_checknumber(L, 1);
    luaL_argcheck(L, s >= 0 && s <= 86400, 1, "tcp.sleep: seconds must be 0..86400");
    lm_net_sleep((double)s);
    return 0;
}

/* core.net.now() -> seconds on the monotonic clock (for setdeadline) */
static int net_now(lua_State *L)
{
    lua_pushnumber(L, (lua_Number)lm_net_now());
    return 1;
}

/* socket:send(data) -> #data | nil, msg, code */
static int sock_send(lua_State *L)
{
    net_socket *s = check_open(L, "socket:send");
    size_t n, sent;
    const char *data = luaL_checklstring(L, 2, &n);
    int rc = lm_net_send(s->fd, data, n, op_deadline(s), &sent);
    if (rc != LM_OK)
        return lmail_fail_rc(L, "tcp send", rc);
    lua_pushinteger(L, (lua_Integer)sent);
    return 1;
}

/* socket:receive(max) -> 1..max bytes | nil, msg, code */
static int sock_receive(lua_State *L)
{
    net_socket *s = check_open(L, "socket:receive");
    lua_Integer max = luaL_checkinteger(L, 2);
    size_t got;
    int rc;
    luaL_argcheck(L, max >= 1, 2, "max must be >= 1");
    if (max > RECV_CHUNK)
        max = RECV_CHUNK;
    rc = lm_net_recv(s->fd, s->buf, (size_t)max, op_deadline(s), &got);
    if (rc != LM_OK)
        return lmail_fail_rc(L, "tcp receive", rc);
    lua_pushlstring(L, s->buf, got);
    return 1;
}

/* socket:settimeout(seconds | nil) -> socket   (nil: no per-operation limit) */
static int sock_settimeout(lua_State *L)
{
    net_socket *s = check_open(L, "socket:settimeout");
    s->timeout = opt_seconds(L, 2);
    lua_settop(L, 1);
    return 1;
}

/* socket:setdeadline(abs | nil) -> socket   (abs: a value of core.net.now()) */
static int sock_setdeadline(lua_State *L)
{
    net_socket *s = check_open(L, "socket:setdeadline");
    s->deadline = opt_seconds(L, 2);
    lua_settop(L, 1);
    return 1;
}

/* socket:deadline() -> abs | nil */
static int sock_deadline(lua_State *L)
{
    net_socket *s = check_open(L, "socket:deadline");
    if (s->deadline < 0)
        lua_pushnil(L);
    else
        lua_pushnumber(L, (lua_Number)s->deadline);
    return 1;
}

/* socket:local_address() -> "192.0.2.1" | "2001:db8::1", 4 | 6 | nil, msg, code */
static int sock_local_address(lua_State *L)
{
    net_socket *s = check_open(L, "socket:local_address");
    char buf[64];
    int family = 0, rc = lm_net_local_address(s->fd, buf, sizeof buf, &family);
    if (rc != LM_OK)
        return lmail_fail_rc(L, "tcp local address", rc);
    lua_pushstring(L, buf);
    lua_pushinteger(L, family);
    return 2;
}

/* socket:close() -> true; also __gc and __close. Idempotent. */
static int sock_close(lua_State *L)
{
    net_socket *s = luaL_checkudata(L, 1, SOCK_MT);
    lm_net_close(s->fd);
    s->fd = -1;
    lua_pushboolean(L, 1);
    return 1;
}

/* socket:isclosed() -> boolean */
static int sock_isclosed(lua_State *L)
{
    net_socket *s = luaL_checkudata(L, 1, SOCK_MT);
    lua_pushboolean(L, s->fd < 0);
    return 1;
}

static int sock_tostring(lua_State *L)
{
    net_socket *s = luaL_checkudata(L, 1, SOCK_MT);
    lua_pushstring(L, s->fd < 0 ? SOCK_MT " (closed)" : SOCK_MT);
    return 1;
}

void lmail_open_net(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"send", sock_send},
        {"receive", sock_receive},
        {"settimeout", sock_settimeout},
        {"setdeadline", sock_setdeadline},
        {"deadline", sock_deadline},
        {"local_address", sock_local_address},
        {"close", sock_close},
        {"isclosed", sock_isclosed},
        {NULL, NULL},
    };
    static const luaL_Reg meta[] = {
        {"__gc", sock_close},
        {"__close", sock_close},
        {"__tostring", sock_tostring},
        {NULL, NULL},
    };
    static const luaL_Reg fns[] = {
        {"connect", net_connect},
        {"now", net_now},
        {"sleep", net_sleep},
        {NULL, NULL},
    };
    lmail_define_class(L, SOCK_MT, methods, meta);
    lmail_register(L, "net", fns);
}
