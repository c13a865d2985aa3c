/*
 * The chain's encodings and hashes (chain.h), and the retention classes.
 *
 * One field writer serves both the byte encoding (hx_chain_encode, for
 * tests and anyone who wants to look) and the hashes, which stream the same
 * bytes into SHA-256 without building them: a detail may be 1 MiB, and the
 * two can never drift apart.
 */
#include "store/chain.h"

#include <openssl/evp.h>
#include <string.h>

/* Where encoded bytes go: a bounded buffer, or a digest. */
typedef struct sink {
    uint8_t *buf;
    size_t len, pos; /* pos counts every byte, also those past len */
    EVP_MD_CTX *md;
    bool digest, failed;
} sink;

static void put(sink *k, const void *p, size_t n)
{
    if (k->digest) {
        if (!k->failed && n && !EVP_DigestUpdate(k->md, p, n)) k->failed = true;
    } else if (k->pos < k->len) {
        size_t room = k->len - k->pos;
        memcpy(k->buf + k->pos, p, n < room ? n : room);
    }
    k->pos += n;
}

static void put_u64(sink *k, uint64_t v)
{
    uint8_t b[8];
    for (int i = 7; i >= 0; i--, v >>= 8)
        b[i] = (uint8_t)v;
    put(k, b, sizeof b);
}

/* Presence byte, then length and bytes: NULL and "" differ. */
static void put_str(sink *k, const char *s)
{
    uint8_t present = s != NULL;
    put(k, &present, 1);
    if (!s) return;
    size_t n = strlen(s);
    put_u64(k, n);
    put(k, s, n);
}

static void put_content(sink *k, const hx_event *ev)
{
    put_u64(k, (uint64_t)ev->ts_ms);
    put_str(k, ev->kind);
    put_str(k, ev->room);
    put_str(k, ev->user);
    put_str(k, ev->device);
    put_str(k, ev->sid);
    put_str(k, ev->code);
    put_str(k, ev->detail);
}

size_t hx_chain_encode(const hx_event *ev, uint8_t *buf, size_t len)
{
    sink k = {.buf = buf, .len = buf ? len : 0};
    put_content(&k, ev);
    return k.pos;
}

/* A failure here only marks the sink: the caller writes on and digest_end reports it. */
static void digest_begin(sink *k)
{
    memset(k, 0, sizeof *k);
    k->digest = true;
    k->md = EVP_MD_CTX_new();
    if (!k->md || !EVP_DigestInit_ex(k->md, EVP_sha256(), NULL)) k->failed = true;
}

static int digest_end(sink *k, uint8_t out[HX_CHAIN_HASH_LEN])
{
    unsigned int n = 0;
    bool ok = !k->failed && EVP_DigestFinal_ex(k->md, out, &n) && n == HX_CHAIN_HASH_LEN;
    EVP_MD_CTX_free(k->md);
    return ok ? 0 : -1;
}

int hx_chain_content_hash(const hx_event *ev, uint8_t out[HX_CHAIN_HASH_LEN])
{
    sink k;
    digest_begin(&k);
    put_content(&k, ev);
    return digest_end(&k, out);
}

int hx_chain_link_hash(const uint8_t prev[HX_CHAIN_HASH_LEN], int64_t seq, int64_t ts_ms,
                       const char *kind, const uint8_t content_hash[HX_CHAIN_HASH_LEN],
                       uint8_t out[HX_CHAIN_HASH_LEN])
{
    sink k;
    digest_begin(&k);
    put(&k, prev, HX_CHAIN_HASH_LEN);
    put_u64(&k, (uint64_t)seq);
    put_u64(&k, (uint64_t)ts_ms);
    put_str(&k, kind);
    put(&k, content_hash, HX_CHAIN_HASH_LEN);
    return digest_end(&k, out);
}

int hx_chain_next(int64_t head_seq, const uint8_t *head_hash, const hx_event *ev,
                  hx_chain_link *out)
{
    if (head_hash)
        memcpy(out->prev_hash, head_hash, HX_CHAIN_HASH_LEN);
    else
        memset(out->prev_hash, 0, HX_CHAIN_HASH_LEN);
    out->seq = head_seq + 1;
    if (hx_chain_content_hash(ev, out->content_hash)) return -1;
    return hx_chain_link_hash(out->prev_hash, out->seq, ev->ts_ms, ev->kind, out->content_hash,
                              out->hash);
}

/*
 * Prefixes, as DESIGN §6 names the classes. A plain prefix match on
 * purpose: should an unforeseen kind happen to share one ("bandwidth..."),
 * it is kept the longer time, never dropped early.
 */
hx_audit_class hx_event_class(const char *kind)
{
    static const char *const moderation[] = {
        "moderation.", "vote.", "ban", "unban", "revocation", "unrevoke", "sanction.",
    };
    if (!kind) return HX_CLASS_SESSION;
    for (size_t i = 0; i < sizeof moderation / sizeof moderation[0]; i++)
        if (strncmp(kind, moderation[i], strlen(moderation[i])) == 0) return HX_CLASS_MODERATION;
    return HX_CLASS_SESSION;
}

const char *hx_chain_name(const char *room)
{
    return room ? room : HX_CHAIN_SERVER_NAME;
}
