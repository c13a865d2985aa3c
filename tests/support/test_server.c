/*
 * The socketless test server and the recording signaling client
 * (test_server.h). The server is assembled the way hx_server_start does it,
 * minus the loop, the listeners and the key files: the ticket key comes
 * from RAND_bytes, the admin key is HX_TEST_ADMIN_KEY. Teardown mirrors
 * hx_server_destroy and then removes the temp dir with everything SQLite
 * left in it (-wal, -shm).
 */
#define _GNU_SOURCE
#include "test_server.h"

#include "common/clock.h"
#include "core/moderate.h"

#include <ftw.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void hx_test_config(hx_config *cfg)
{
    hx_config_defaults(cfg, HX_PROFILE_DEV);
    cfg->log_level = HX_LOG_DEBUG; /* exercise every log call; the sink is /dev/null */
}

int hx_test_server_init(hx_test_server *t, const hx_config *cfg, const char *jwks_json)
{
    char err[512], path[sizeof t->dir + 16];
    memset(t, 0, sizeof *t);
    hx_server *s = &t->srv;
    if (cfg)
        s->cfg = *cfg;
    else
        hx_test_config(&s->cfg);

    const char *verbose = getenv("HX_TEST_VERBOSE");
    t->logf = verbose && *verbose ? stderr : fopen("/dev/null", "w");
    if (!t->logf) t->logf = stderr;
    s->log = (hx_logger){t->logf, (hx_log_level)s->cfg.log_level, s->cfg.log_json};
    s->started_ms = s->last_sweep_ms = hx_mono_ms();
    hx_revocations_init(&s->revocations);
    hx_rooms_init(&s->rooms, 100000);
    hx_metrics_init(&s->metrics);
    hx_strmap_init(&s->http_buckets);
    if (!(s->bus = hx_bus_local_new()) || hx_signal_attach(s)) {
        fprintf(stderr, "test server: bus/signal: out of memory\n");
        return -1;
    }

    const char *tmp = getenv("TMPDIR");
    snprintf(t->dir, sizeof t->dir, "%s/hearth-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(t->dir)) {
        perror("mkdtemp");
        t->dir[0] = '\0';
        return -1;
    }
    snprintf(s->cfg.data_dir, sizeof s->cfg.data_dir, "%s", t->dir);
    snprintf(path, sizeof path, "%s/hearth.db", t->dir);
    if (!(s->store = hx_store_sqlite_open(path, err, sizeof err))) {
        fprintf(stderr, "test server: store: %s\n", err);
        return -1;
    }
    if (hx_moderation_load(s)) {
        fprintf(stderr, "test server: moderation: %s\n", hx_store_errmsg(s->store));
        return -1;
    }
    if (RAND_bytes(s->ticket_key, sizeof s->ticket_key) != 1 ||
        RAND_bytes(s->resume_key, sizeof s->resume_key) != 1) {
        fprintf(stderr, "test server: RAND_bytes failed\n");
        return -1;
    }
    snprintf(s->admin_key, sizeof s->admin_key, "%s", HX_TEST_ADMIN_KEY);
    if (jwks_json && hx_jwks_parse(jwks_json, strlen(jwks_json), &s->jwks, err, sizeof err)) {
        fprintf(stderr, "test server: jwks: %s\n", err);
        return -1;
    }
    s->port = s->cfg.listen_port;
    s->ready = true;
    return 0;
}

static int free_value(void *arg, const char *key, void *value)
{
    free(value);
    return 1;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

size_t hx_test_server_free(hx_test_server *t)
{
    hx_server *s = &t->srv;
    size_t open = hx_sessions_count(s);
    hx_rooms_free(&s->rooms);
    hx_revocations_free(&s->revocations);
    hx_moderation_free(s);
    hx_strmap_foreach(&s->http_buckets, free_value, NULL);
    hx_strmap_free(&s->http_buckets);
    if (!open) hx_signal_detach(s); /* leaked sessions keep the registry (see test_server.h) */
    if (s->bus) s->bus->ops->close(s->bus);
    s->bus = NULL;
    hx_jwks_free(s->jwks);
    s->jwks = NULL;
    if (s->store) s->store->ops->close(s->store);
    s->store = NULL;
    if (t->logf && t->logf != stderr) fclose(t->logf);
    t->logf = NULL;
    if (t->dir[0]) nftw(t->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    t->dir[0] = '\0';
    return open;
}

int hx_test_server_setup(void **state)
{
    return hx_test_server_setup_with(state, NULL);
}

int hx_test_server_setup_with(void **state, const hx_config *cfg)
{
    hx_test_server *t = calloc(1, sizeof *t);
    if (!t || hx_test_server_init(t, cfg, NULL)) {
        if (t) hx_test_server_free(t);
        free(t);
        return -1;
    }
    *state = t;
    return 0;
}

int hx_test_server_teardown(void **state)
{
    hx_test_server *t = *state;
    size_t open = hx_test_server_free(t);
    free(t);
    return open == 0 ? 0 : -1;
}

int hx_test_mint(hx_server *s, const char *room, const char *user, const char *device, const char *sid,
                 const char *jti, int version, char *text, size_t len)
{
    hx_ticket t;
    hx_ticket_req req = {.room = room,
                         .user = user,
                         .device = device,
                         .sid = sid ? sid : "",
                         .jti = jti ? jti : "",
                         .grants = HX_GRANT_DEFAULT_FLAGS,
                         .protocol_version = version};
    return hx_server_mint_ticket(s, &req, &t, text, len);
}

int hx_test_mint_grants(hx_server *s, const char *room, const char *user, const char *device, uint32_t grants,
                        int version, char *text, size_t len)
{
    hx_ticket t;
    hx_ticket_req req = {.room = room, .user = user, .device = device, .sid = "", .jti = "", .grants = grants,
                         .protocol_version = version};
    return hx_server_mint_ticket(s, &req, &t, text, len);
}

size_t hx_test_participants(const hx_server *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->rooms.by_name.nbuckets; i++)
        for (hx_strmap_entry *e = s->rooms.by_name.buckets[i]; e; e = e->next)
            n += ((const hx_room *)e->value)->count;
    return n;
}

/* --- the recording client ------------------------------------------------ */

static int client_send(void *ctx, const char *text, size_t len)
{
    hx_test_client *c = ctx;
    if (c->fail_send) return -1;
    json_t *m = json_loadb(text, len, 0, NULL);
    if (!json_is_object(m)) {
        json_decref(m);
        c->n_bad++;
        return 0;
    }
    json_array_append_new(c->msgs, m);
    return 0;
}

static void client_close(void *ctx, int code, const char *reason)
{
    hx_test_client *c = ctx;
    c->n_closes++;
    c->close_code = code;
    snprintf(c->close_reason, sizeof c->close_reason, "%s", reason ? reason : "");
}

static void client_ping(void *ctx)
{
    hx_test_client *c = ctx;
    c->n_pings++;
}

static void client_adopt(void *ctx, hx_session *s)
{
    hx_test_client *c = ctx;
    c->session = s;
    c->n_adopts++;
}

const hx_sig_io hx_test_client_io = {client_send, client_close, client_ping, NULL};
const hx_sig_io hx_test_client_resumable_io = {client_send, client_close, client_ping, client_adopt};

void hx_test_client_init(hx_test_client *c)
{
    memset(c, 0, sizeof *c);
    c->msgs = json_array();
}

void hx_test_client_free(hx_test_client *c)
{
    json_decref(c->msgs);
    c->msgs = NULL;
}

void hx_test_client_clear(hx_test_client *c)
{
    json_array_clear(c->msgs);
    c->n_bad = 0;
}

const char *hx_test_msg_type(const json_t *m)
{
    return json_string_value(json_object_get(m, "type"));
}

const char *hx_test_msg_id(const json_t *m)
{
    return json_string_value(json_object_get(m, "id"));
}

json_t *hx_test_msg_data(const json_t *m)
{
    return json_object_get(m, "data");
}

static bool is_type(const json_t *m, const char *type)
{
    const char *t = hx_test_msg_type(m);
    return !type || (t && strcmp(t, type) == 0);
}

size_t hx_test_client_count(const hx_test_client *c, const char *type)
{
    size_t n = 0, i;
    json_t *m;
    json_array_foreach(c->msgs, i, m) n += is_type(m, type);
    return n;
}

json_t *hx_test_client_nth(const hx_test_client *c, size_t i)
{
    return json_array_get(c->msgs, i);
}

json_t *hx_test_client_last(const hx_test_client *c, const char *type)
{
    for (size_t i = json_array_size(c->msgs); i-- > 0;) {
        json_t *m = json_array_get(c->msgs, i);
        if (is_type(m, type)) return m;
    }
    return NULL;
}

const char *hx_test_client_last_error(const hx_test_client *c)
{
    json_t *e = hx_test_client_last(c, "error");
    return e ? json_string_value(json_object_get(hx_test_msg_data(e), "code")) : NULL;
}
