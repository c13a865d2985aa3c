/*
 * Server secrets at start-up. The ticket and resume-token MAC keys live in
 * the store (so both survive a restart and, with a shared store, work on
 * every node);
 * it is generated on first start. The admin key comes from the
 * configuration or from <data_dir>/admin.key, generated (0600) when absent,
 * so `hearthctl --data-dir` works on a fresh dev install.
 */
#include "hearthd/keys.h"

#include "common/b64.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <string.h>
#include <unistd.h>

/* A MAC key kept in the store: read, or generated and stored on first start. Nodes
 * starting at once on a fresh shared store all find none and all generate one: add_secret
 * keeps the first stored, and the others drop their own for it. (With an upsert the last
 * writer would win, and a node that wrote before it would keep a key the store no longer
 * has: every ticket it minted would fail on the other nodes.) */
static int store_key(hx_server *s, const char *name, uint8_t *key, size_t len, char *err,
                     size_t errlen)
{
    int rc = s->store->ops->get_secret(s->store, name, key, len);
    if (rc == HX_STORE_OK) return 0;
    if (rc != HX_STORE_NOTFOUND) {
        snprintf(err, errlen, "reading the %s: %s", name, hx_store_errmsg(s->store));
        return -1;
    }
    if (RAND_bytes(key, (int)len) != 1) {
        snprintf(err, errlen, "cannot generate a %s", name);
        return -1;
    }
    rc = s->store->ops->add_secret(s->store, name, key, len);
    if (rc == HX_STORE_EXISTS) rc = s->store->ops->get_secret(s->store, name, key, len);
    if (rc != HX_STORE_OK) {
        snprintf(err, errlen, "storing a new %s: %s", name, hx_store_errmsg(s->store));
        return -1;
    }
    return 0;
}

int hx_keys_ticket(hx_server *s, char *err, size_t errlen)
{
    /* The resume key too: resume tokens must outlive the process (DESIGN §9). */
    return store_key(s, "ticket_key", s->ticket_key, sizeof s->ticket_key, err, errlen) ||
                   store_key(s, "resume_key", s->resume_key, sizeof s->resume_key, err, errlen)
               ? -1
               : 0;
}

int hx_keys_turn(hx_server *s, char *err, size_t errlen)
{
    const hx_config *c = &s->cfg;
    if (c->n_turn_secrets) {
        for (size_t i = 0; i < c->n_turn_secrets && i < 2; i++)
            snprintf(s->turn_secrets[i], sizeof s->turn_secrets[i], "%s", c->turn_secrets[i]);
        s->n_turn_secrets = c->n_turn_secrets < 2 ? c->n_turn_secrets : 2;
        return 0;
    }
    if (strcmp(c->turn_mode, "embedded")) return 0; /* off (external needs configured secrets) */
    /* Embedded without configured secrets: one of our own, kept in the store so
     * credentials handed out before a restart still work after it. */
    uint8_t raw[24];
    if (store_key(s, "turn_secret", raw, sizeof raw, err, errlen)) return -1;
    if (hx_b64_encode(raw, sizeof raw, s->turn_secrets[0], sizeof s->turn_secrets[0], 1) < 0) {
        snprintf(err, errlen, "cannot encode the TURN secret");
        return -1;
    }
    s->n_turn_secrets = 1;
    return 0;
}

static int read_key_file(const char *path, char *out, size_t outlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    ssize_t n = read(fd, out, outlen - 1);
    close(fd);
    if (n < 0) return -EIO;
    out[n] = '\0';
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' ')) out[--n] = '\0';
    return n >= 16 ? 0 : -EINVAL;
}

int hx_keys_admin(hx_server *s, char *err, size_t errlen)
{
    if (s->cfg.admin_key[0]) {
        snprintf(s->admin_key, sizeof s->admin_key, "%s", s->cfg.admin_key);
        return 0;
    }
    char path[HX_CFG_STR + 16];
    snprintf(path, sizeof path, "%s/admin.key", s->cfg.data_dir);
    int rc = read_key_file(path, s->admin_key, sizeof s->admin_key);
    if (rc == 0) return 0;
    if (rc != -ENOENT) {
        snprintf(err, errlen, "%s: unreadable or shorter than 16 characters", path);
        return -1;
    }
    uint8_t raw[32];
    if (RAND_bytes(raw, sizeof raw) != 1 || hx_b64_encode(raw, sizeof raw, s->admin_key, sizeof s->admin_key, 1) < 0) {
        snprintf(err, errlen, "cannot generate an admin key");
        return -1;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    size_t len = strlen(s->admin_key);
    int ok = write(fd, s->admin_key, len) == (ssize_t)len && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
    close(fd);
    if (!ok) {
        snprintf(err, errlen, "%s: write failed", path);
        return -1;
    }
    return 0;
}
