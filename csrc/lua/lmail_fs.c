/* lmail_fs.c: binding of the file-system helpers (csrc/sys/lm_fs.h) as
 * lmail.core.fs, for lua/lmail/maildir.lua: Lua's io library cannot create
 * a file exclusively, fsync it, or move it without replacing another. */
#include "lmail_aux.h"

#include <stdio.h>
#include <string.h>

#include "../sys/lm_fs.h"

#define FILE_MT "lmail.fs.file"

typedef struct fs_file {
    int fd; /* -1 once closed */
} fs_file;

/* nil, "<what> <path>: <strerror>", "EIO" */
static int fs_fail(lua_State *L, const char *what, const char *path, int err)
{
    lua_pushnil(L);
    lua_pushfstring(L, "%s %s: %s", what, path, strerror(err));
    lua_pushstring(L, "EIO");
    return 3;
}

static int fs_ok(lua_State *L)
{
    lua_pushboolean(L, 1);
    return 1;
}

static fs_file *check_file(lua_State *L, const char *what)
{
    fs_file *f = luaL_checkudata(L, 1, FILE_MT);
    if (f->fd < 0)
        luaL_error(L, "%s: file is closed", what);
    return f;
}

/* core.fs.open(path, "x" | "a") -> file | nil, msg, "EIO"
 * "x": create exclusively (mode 0600); "a": append, creating it if needed. */
static int fs_open(lua_State *L)
{
    static const char *const modes[] = {"x", "a", NULL};
    const char *path = luaL_checkstring(L, 1);
    int how = luaL_checkoption(L, 2, NULL, modes) == 0 ? LM_FS_CREATE : LM_FS_APPEND;
    fs_file *f = lua_newuserdatauv(L, sizeof *f, 0);
    int err = 0;
    f->fd = -1;
    luaL_getmetatable(L, FILE_MT);
    lua_setmetatable(L, -2);
    if (lm_fs_open(path, how, &f->fd, &err) != LM_OK)
        return fs_fail(L, "cannot create", path, err);
    return 1;
}

/* file:write(bytes) -> true | nil, msg, "EIO" */
static int file_write(lua_State *L)
{
    fs_file *f = check_file(L, "file:write");
    size_t n;
    const char *s = luaL_checklstring(L, 2, &n);
    int err = 0;
    if (lm_fs_write(f->fd, s, n, &err) != LM_OK)
        return fs_fail(L, "write", "failed", err);
    return fs_ok(L);
}

/* file:sync() -> true | nil, msg, "EIO" (fsync) */
static int file_sync(lua_State *L)
{
    fs_file *f = check_file(L, "file:sync");
    int err = 0;
    if (lm_fs_sync(f->fd, &err) != LM_OK)
        return fs_fail(L, "fsync", "failed", err);
    return fs_ok(L);
}

#define SYNC_MAX 256

/* core.fs.sync_files({file, ...}) -> true | nil, msg, "EIO": the data of
 * every file is on disk (one syncfs on Linux, else fsync of each). */
static int fs_sync_files(lua_State *L)
{
    int fds[SYNC_MAX], err = 0;
    size_t n, i;
    luaL_checktype(L, 1, LUA_TTABLE);
    n = (size_t)lua_rawlen(L, 1);
    luaL_argcheck(L, n <= SYNC_MAX, 1, "at most 256 files");
    for (i = 0; i < n; i++) {
        fs_file *f;
        lua_rawgeti(L, 1, (lua_Integer)i + 1);
        f = luaL_checkudata(L, -1, FILE_MT);
        if (f->fd < 0)
            return luaL_error(L, "fs.sync_files: file %d is closed", (int)i + 1);
        fds[i] = f->fd;
        lua_pop(L, 1);
    }
    if (lm_fs_sync_files(fds, n, &err) != LM_OK)
        return fs_fail(L, "fsync", "failed", err);
    return fs_ok(L);
}

/* file:close() -> true | nil, msg, "EIO"; also __gc and __close. Idempotent. */
static int file_close(lua_State *L)
{
    fs_file *f = luaL_checkudata(L, 1, FILE_MT);
    int err = 0, fd = f->fd;
    f->fd = -1;
    if (fd >= 0 && lm_fs_close(fd, &err) != LM_OK)
        return fs_fail(L, "close", "failed", err);
    return fs_ok(L);
}

/* core.fs.sync_dir(path) -> true | nil, msg, "EIO" */
static int fs_sync_dir(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    int err = 0;
    if (lm_fs_sync_dir(path, &err) != LM_OK)
        return fs_fail(L, "cannot fsync directory", path, err);
    return fs_ok(L);
}

/* core.fs.move(from, to) -> true | false (to exists) | nil, msg, "EIO" */
static int fs_move(lua_State *L)
{
    const char *from = luaL_checkstring(L, 1), *to = luaL_checkstring(L, 2);
    int err = 0, rc = lm_fs_move(from, to, &err);
    if (rc == LM_EINVAL) {
        lua_pushboolean(L, 0);
        return 1;
    }
    if (rc != LM_OK)
        return fs_fail(L, "cannot move to", to, err);
    return fs_ok(L);
}

/* core.fs.rename(from, to) -> true | nil, msg, "EIO" (replaces to) */
static int fs_rename(lua_State *L)
{
    const char *from = luaL_checkstring(L, 1), *to = luaL_checkstring(L, 2);
    int err = 0;
    if (lm_fs_rename(from, to, &err) != LM_OK)
        return fs_fail(L, "cannot rename to", to, err);
    return fs_ok(L);
}

/* core.fs.unlink(path) -> true | nil, msg, "EIO" (a missing file is fine) */
static int fs_unlink(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    int err = 0;
    if (lm_fs_unlink(path, &err) != LM_OK)
        return fs_fail(L, "cannot remove", path, err);
    return fs_ok(L);
}

/* core.fs.mkdir(path [, mode = 0700]) -> true | nil, msg, "EIO" (an
 * existing directory is fine) */
static int fs_mkdir(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    lua_Integer mode = luaL_optinteger(L, 2, 0700);
    int err = 0;
    luaL_argcheck(L, mode >= 0 && mode <= 07777, 2, "mode must be 0..07777");
    if (lm_fs_mkdir(path, (unsigned)mode, &err) != LM_OK)
        return fs_fail(L, "cannot create directory", path, err);
    return fs_ok(L);
}

/* core.fs.unique() -> sec, usec, pid, host, random_hex (16 hex digits) |
 * nil, msg, "EIO": the parts of a Maildir unique name */
static int fs_unique(lua_State *L)
{
    lm_fs_unique u;
    char hex[2 * sizeof u.random + 1];
    int err = 0;
    size_t i;
    if (lm_fs_unique_parts(&u, &err) != LM_OK)
        return fs_fail(L, "cannot read", "/dev/urandom", err);
    for (i = 0; i < sizeof u.random; i++)
        snprintf(hex + 2 * i, 3, "%02x", u.random[i]);
    lua_pushinteger(L, (lua_Integer)u.sec);
    lua_pushinteger(L, (lua_Integer)u.usec);
    lua_pushinteger(L, (lua_Integer)u.pid);
    lua_pushstring(L, u.host);
    lua_pushstring(L, hex);
    return 5;
}

static int file_tostring(lua_State *L)
{
    fs_file *f = luaL_checkudata(L, 1, FILE_MT);
    lua_pushstring(L, f->fd < 0 ? FILE_MT " (closed)" : FILE_MT);
    return 1;
}

void lmail_open_fs(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"write", file_write},
        {"sync", file_sync},
        {"close", file_close},
        {NULL, NULL},
    };
    static const luaL_Reg meta[] = {
        {"__gc", file_close},
        {"__close", file_close},
        {"__tostring", file_tostring},
        {NULL, NULL},
    };
    static const luaL_Reg fns[] = {
        {"open", fs_open},
        {"sync_dir", fs_sync_dir},
        {"sync_files", fs_sync_files},
        {"move", fs_move},
        {"rename", fs_rename},
        {"unlink", fs_unlink},
        {"mkdir", fs_mkdir},
        {"unique", fs_unique},
        {NULL, NULL},
    };
    lmail_define_class(L, FILE_MT, methods, meta);
    lmail_register(L, "fs", fns);
}
