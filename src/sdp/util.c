/*
 * Small pieces every SDP file uses: spans over the input text, bounded
 * copies, the text builder behind hx_sdp_write and the answer/offer
 * builders, enum names, look-ups in a parsed description and error strings.
 * The parser never NUL-terminates the input; it walks spans and copies only
 * what the model keeps, each copy checked against its array.
 */
#include "sdp/sdp_internal.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

bool hx__sdp_token(hx__sdp_span *s, hx__sdp_span *tok)
{
    while (s->n && (*s->p == ' ' || *s->p == '\t')) {
        s->p++;
        s->n--;
    }
    if (!s->n) return false;
    size_t i = 0;
    while (i < s->n && s->p[i] != ' ' && s->p[i] != '\t')
        i++;
    tok->p = s->p;
    tok->n = i;
    s->p += i;
    s->n -= i;
    return true;
}

bool hx__sdp_split(hx__sdp_span *s, char c, hx__sdp_span *head)
{
    const char *at = s->n ? memchr(s->p, c, s->n) : NULL;
    if (!at) return false;
    head->p = s->p;
    head->n = (size_t)(at - s->p);
    s->n -= head->n + 1;
    s->p = at + 1;
    return true;
}

bool hx__sdp_uint(hx__sdp_span t, uint64_t max, uint64_t *out)
{
    if (t.n == 0 || t.n > 20) return false;
    uint64_t v = 0;
    for (size_t i = 0; i < t.n; i++) {
        if (t.p[i] < '0' || t.p[i] > '9') return false;
        unsigned d = (unsigned)(t.p[i] - '0');
        if (v > (UINT64_MAX - d) / 10) return false;
        v = v * 10 + d;
    }
    if (v > max) return false;
    *out = v;
    return true;
}

bool hx__sdp_eq(hx__sdp_span t, const char *s, bool icase)
{
    size_t n = strlen(s);
    return t.n == n && (icase ? strncasecmp(t.p, s, n) == 0 : memcmp(t.p, s, n) == 0);
}

bool hx__sdp_copy(char *dst, size_t cap, hx__sdp_span t)
{
    if (t.n >= cap) return false;
    memcpy(dst, t.p, t.n);
    dst[t.n] = '\0';
    return true;
}

hx__sdp_span hx__sdp_str(const char *s)
{
    return (hx__sdp_span){s, strlen(s)};
}

bool hx__sdp_ieq(const char *a, const char *b)
{
    return strcasecmp(a, b) == 0;
}

void hx__sdp_line(hx__sdp_out *o, const char *fmt, ...)
{
    if (o->fail) return;
    size_t room = o->cap - o->len;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->p + o->len, room, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n + 3 > room || o->len + (size_t)n + 2 > HX_SDP_MAX_LEN) {
        o->fail = true;
        return;
    }
    o->len += (size_t)n;
    o->p[o->len++] = '\r';
    o->p[o->len++] = '\n';
    o->p[o->len] = '\0';
}

const char *hx__sdp_dir_name(hx_sdp_dir d)
{
    switch (d) {
    case HX_SDP_SENDRECV:
        return "sendrecv";
    case HX_SDP_SENDONLY:
        return "sendonly";
    case HX_SDP_RECVONLY:
        return "recvonly";
    case HX_SDP_INACTIVE:
        return "inactive";
    default:
        return "";
    }
}

const char *hx__sdp_setup_name(hx_sdp_setup s)
{
    switch (s) {
    case HX_SDP_SETUP_ACTPASS:
        return "actpass";
    case HX_SDP_SETUP_ACTIVE:
        return "active";
    case HX_SDP_SETUP_PASSIVE:
        return "passive";
    case HX_SDP_SETUP_HOLDCONN:
        return "holdconn";
    default:
        return "";
    }
}

const char *hx__sdp_kind_name(hx_sdp_kind k)
{
    switch (k) {
    case HX_SDP_AUDIO:
        return "audio";
    case HX_SDP_VIDEO:
        return "video";
    case HX_SDP_APPLICATION:
        return "application";
    default:
        return "";
    }
}

const hx_sdp_media *hx_sdp_find_mid(const hx_sdp *sdp, const char *mid)
{
    for (unsigned i = 0; i < sdp->n_media; i++)
        if (sdp->media[i].mid[0] && strcmp(sdp->media[i].mid, mid) == 0) return &sdp->media[i];
    return NULL;
}

const hx_sdp_codec *hx_sdp_find_pt(const hx_sdp_media *m, unsigned pt)
{
    for (unsigned i = 0; i < m->n_codecs; i++)
        if (m->codecs[i].pt == pt) return &m->codecs[i];
    return NULL;
}

unsigned hx_sdp_extmap_id(const hx_sdp_media *m, const char *uri)
{
    for (unsigned i = 0; i < m->n_extmaps; i++)
        if (strcmp(m->extmaps[i].uri, uri) == 0) return m->extmaps[i].id;
    return 0;
}

int hx_sdp_fmtp_get(const char *fmtp, const char *key, char *out, size_t cap)
{
    hx__sdp_span s = hx__sdp_str(fmtp), kv;
    size_t klen = strlen(key);
    for (;;) {
        bool more = hx__sdp_split(&s, ';', &kv);
        if (!more) kv = s;
        while (kv.n && *kv.p == ' ') {
            kv.p++;
            kv.n--;
        }
        if (kv.n > klen && kv.p[klen] == '=' && strncasecmp(kv.p, key, klen) == 0) {
            hx__sdp_span v = {kv.p + klen + 1, kv.n - klen - 1};
            return hx__sdp_copy(out, cap, v) ? 0 : -1;
        }
        if (!more) return -1;
    }
}

const char *hx_sdp_strerror(int code)
{
    switch (code) {
    case HX_SDP_OK:
        return "ok";
    case HX_SDP_E_TOO_LARGE:
        return "SDP too large";
    case HX_SDP_E_SYNTAX:
        return "malformed SDP line";
    case HX_SDP_E_VERSION:
        return "SDP must start with v=0";
    case HX_SDP_E_ORIGIN:
        return "missing or malformed o= line";
    case HX_SDP_E_MEDIA:
        return "malformed m= line";
    case HX_SDP_E_VALUE:
        return "malformed attribute value";
    case HX_SDP_E_LIMIT:
        return "SDP exceeds a size limit";
    case HX_SDP_E_DUPLICATE:
        return "duplicate mid, payload type or extmap id";
    case HX_SDP_E_NOSPACE:
        return "output buffer too small";
    case HX_SDP_E_MISSING:
        return "required attribute missing";
    case HX_SDP_E_MISMATCH:
        return "answer does not match the offer";
    case HX_SDP_E_UNSUPPORTED:
        return "nothing acceptable in the description";
    default:
        return "unknown SDP error";
    }
}
