/*
 * The SDP parser's outer loop (RFC 8866 §5): split the text into lines,
 * check each is "<letter>=<value>", and route it to the session or to the
 * current media section. Session-level attributes are handled here; media
 * attributes in parse_media.c. Lines and attributes WebRTC does not use
 * (s=, t=, b=, a=rtcp:, a=rtcp-xr, ...) are skipped, as RFC 8866 §5.13
 * asks of unknown attributes.
 *
 * The text is never modified or NUL-terminated; spans point into it and
 * only the values the model keeps are copied. Control characters other
 * than TAB are rejected (a NUL inside SDP is always an attack or a bug),
 * bytes >= 0x80 are allowed because s= and i= may carry UTF-8.
 */
#include "sdp/sdp_internal.h"

#include <stddef.h>
#include <string.h>

#define FAIL(code, text)                                                                           \
    do {                                                                                           \
        *what = (text);                                                                            \
        return (code);                                                                             \
    } while (0)

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* "sha-256 AB:CD:..." (RFC 8122 §5): pairs of hex digits joined by colons. */
static int parse_fingerprint(hx_sdp_fingerprint *fp, hx__sdp_span v, const char **what)
{
    hx__sdp_span alg, hex;
    if (!hx__sdp_token(&v, &alg) || !hx__sdp_token(&v, &hex) || hx__sdp_token(&v, &alg))
        FAIL(HX_SDP_E_VALUE, "fingerprint needs an algorithm and a hash");
    if (hex.n % 3 != 2) FAIL(HX_SDP_E_VALUE, "fingerprint hash is not hex pairs");
    for (size_t i = 0; i < hex.n; i++)
        if (i % 3 == 2 ? hex.p[i] != ':' : !is_hex(hex.p[i]))
            FAIL(HX_SDP_E_VALUE, "fingerprint hash is not hex pairs");
    if (!hx__sdp_copy(fp->alg, sizeof fp->alg, alg) || !hx__sdp_copy(fp->hex, sizeof fp->hex, hex))
        FAIL(HX_SDP_E_LIMIT, "fingerprint too long");
    for (char *c = fp->alg; *c; c++)
        if (*c >= 'A' && *c <= 'Z') *c = (char)(*c - 'A' + 'a');
    return 0;
}

/* ICE credentials (RFC 8839 §5.4): ice-chars are ALPHA / DIGIT / "+" / "/". */
static int parse_ice(char *dst, hx__sdp_span v, const char **what)
{
    if (v.n == 0) FAIL(HX_SDP_E_VALUE, "empty ICE credential");
    for (size_t i = 0; i < v.n; i++) {
        char c = v.p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/'))
            FAIL(HX_SDP_E_VALUE, "ICE credential has a character outside ice-char");
    }
    if (!hx__sdp_copy(dst, HX_SDP_ICE_LEN, v)) FAIL(HX_SDP_E_LIMIT, "ICE credential too long");
    return 0;
}

/* Transport attributes allowed at either level. 1: handled, 0: not one of them. */
static int transport_attr(char *ufrag, char *pwd, hx_sdp_fingerprint *fp, hx_sdp_setup *setup,
                          bool *trickle, hx__sdp_span name, hx__sdp_span val, const char **what)
{
    int rc;
    if (hx__sdp_eq(name, "ice-ufrag", false)) {
        rc = parse_ice(ufrag, val, what);
    } else if (hx__sdp_eq(name, "ice-pwd", false)) {
        rc = parse_ice(pwd, val, what);
    } else if (hx__sdp_eq(name, "fingerprint", false)) {
        rc = parse_fingerprint(fp, val, what);
    } else if (hx__sdp_eq(name, "setup", false)) {
        static const char *const names[] = {"actpass", "active", "passive", "holdconn"};
        for (int i = 0; i < 4; i++)
            if (hx__sdp_eq(val, names[i], false)) *setup = (hx_sdp_setup)(HX_SDP_SETUP_ACTPASS + i);
        rc = *setup == HX_SDP_SETUP_NONE ? HX_SDP_E_VALUE : 0;
        if (rc) *what = "setup must be actpass, active, passive or holdconn";
    } else if (hx__sdp_eq(name, "ice-options", false)) {
        hx__sdp_span t;
        while (hx__sdp_token(&val, &t))
            if (hx__sdp_eq(t, "trickle", false)) *trickle = true;
        rc = 0;
    } else {
        return 0;
    }
    return rc < 0 ? rc : 1;
}

static int session_attr(hx_sdp *s, hx__sdp_span name, hx__sdp_span val, const char **what)
{
    int rc = transport_attr(s->ice_ufrag, s->ice_pwd, &s->fingerprint, &s->setup, &s->ice_trickle,
                            name, val, what);
    if (rc) return rc < 0 ? rc : 0;
    if (hx__sdp_eq(name, "group", false)) {
        hx__sdp_span sem, mid;
        if (!hx__sdp_token(&val, &sem)) FAIL(HX_SDP_E_VALUE, "empty group");
        if (!hx__sdp_eq(sem, "BUNDLE", false) || s->n_bundle) return 0;
        while (hx__sdp_token(&val, &mid)) {
            if (s->n_bundle == HX_SDP_MAX_MEDIA) FAIL(HX_SDP_E_LIMIT, "too many BUNDLE mids");
            if (!hx__sdp_copy(s->bundle[s->n_bundle++], HX_SDP_TOKEN_LEN, mid))
                FAIL(HX_SDP_E_LIMIT, "BUNDLE mid too long");
        }
        if (!s->n_bundle) FAIL(HX_SDP_E_VALUE, "empty BUNDLE group");
    } else if (hx__sdp_eq(name, "ice-lite", false)) {
        s->ice_lite = true;
    } else if (hx__sdp_eq(name, "extmap-allow-mixed", false)) {
        s->extmap_allow_mixed = true;
    } else if (hx__sdp_eq(name, "msid-semantic", false)) {
        hx__sdp_span t = val;
        while (t.n && *t.p == ' ') {
            t.p++;
            t.n--;
        }
        if (!hx__sdp_copy(s->msid_semantic, sizeof s->msid_semantic, t))
            FAIL(HX_SDP_E_LIMIT, "msid-semantic too long");
    }
    return 0;
}

/* o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address> */
static int parse_origin(hx_sdp *s, hx__sdp_span v, const char **what)
{
    hx__sdp_span f[6];
    for (int i = 0; i < 6; i++)
        if (!hx__sdp_token(&v, &f[i])) FAIL(HX_SDP_E_ORIGIN, "o= needs six fields");
    if (hx__sdp_token(&v, &f[0])) FAIL(HX_SDP_E_ORIGIN, "o= has extra fields");
    if (!hx__sdp_uint(f[1], UINT64_MAX, &s->sess_id) ||
        !hx__sdp_uint(f[2], UINT64_MAX, &s->sess_version))
        FAIL(HX_SDP_E_ORIGIN, "o= session id and version must be numbers");
    if (!hx__sdp_copy(s->origin_user, sizeof s->origin_user, f[0]) ||
        !hx__sdp_copy(s->origin_addr, sizeof s->origin_addr, f[5]))
        FAIL(HX_SDP_E_ORIGIN, "o= field too long");
    return 0;
}

/* m=<media> <port> <proto> <fmt> ... (RFC 8866 §5.14) */
static int parse_mline(hx_sdp_media *m, hx__sdp_span v, const char **what)
{
    hx__sdp_span kind, port, proto, fmt;
    uint64_t n;
    if (!hx__sdp_token(&v, &kind) || !hx__sdp_token(&v, &port) || !hx__sdp_token(&v, &proto))
        FAIL(HX_SDP_E_MEDIA, "m= needs media, port, proto and formats");
    if (!hx__sdp_uint(port, 65535, &n)) FAIL(HX_SDP_E_MEDIA, "m= port must be 0-65535");
    m->port = (uint16_t)n;
    if (!hx__sdp_copy(m->kind_name, sizeof m->kind_name, kind) ||
        !hx__sdp_copy(m->proto_name, sizeof m->proto_name, proto))
        FAIL(HX_SDP_E_MEDIA, "m= field too long");
    m->kind = hx__sdp_eq(kind, "audio", false)         ? HX_SDP_AUDIO
              : hx__sdp_eq(kind, "video", false)       ? HX_SDP_VIDEO
              : hx__sdp_eq(kind, "application", false) ? HX_SDP_APPLICATION
                                                       : HX_SDP_OTHER;
    if (strstr(m->proto_name, "RTP/"))
        m->proto = HX_SDP_PROTO_RTP;
    else if (hx__sdp_eq(proto, "UDP/DTLS/SCTP", false) || hx__sdp_eq(proto, "TCP/DTLS/SCTP", false))
        m->proto = HX_SDP_PROTO_SCTP;
    else if (hx__sdp_eq(proto, "DTLS/SCTP", false))
        m->proto = HX_SDP_PROTO_SCTP_LEGACY;
    if (!hx__sdp_token(&v, &fmt)) FAIL(HX_SDP_E_MEDIA, "m= has no formats");
    if (m->proto != HX_SDP_PROTO_RTP) {
        if (!hx__sdp_copy(m->fmt, sizeof m->fmt, fmt)) FAIL(HX_SDP_E_MEDIA, "m= format too long");
        if (m->proto == HX_SDP_PROTO_SCTP_LEGACY && hx__sdp_uint(fmt, 65535, &n))
            m->sctp_port = (uint16_t)n;
        return 0;
    }
    do {
        if (!hx__sdp_uint(fmt, 127, &n)) FAIL(HX_SDP_E_MEDIA, "RTP format must be a PT 0-127");
        if (hx_sdp_find_pt(m, (unsigned)n)) FAIL(HX_SDP_E_DUPLICATE, "payload type listed twice");
        if (m->n_codecs == HX_SDP_MAX_CODECS) FAIL(HX_SDP_E_LIMIT, "too many payload types");
        m->codecs[m->n_codecs++].pt = (uint8_t)n;
    } while (hx__sdp_token(&v, &fmt));
    return 0;
}

static int media_line_attr(hx_sdp_media *m, hx__sdp_span name, hx__sdp_span val, bool has_val,
                           const char **what)
{
    int rc = transport_attr(m->ice_ufrag, m->ice_pwd, &m->fingerprint, &m->setup, &m->ice_trickle,
                            name, val, what);
    if (rc) return rc < 0 ? rc : 0;
    return hx__sdp_media_attr(m, name, val, has_val, what);
}

/* Fill media-level transport values from the session level; check mids. */
static int finish(hx_sdp *s, const char **what)
{
    for (unsigned i = 0; i < s->n_media; i++) {
        hx_sdp_media *m = &s->media[i];
        if (!m->ice_ufrag[0]) memcpy(m->ice_ufrag, s->ice_ufrag, sizeof m->ice_ufrag);
        if (!m->ice_pwd[0]) memcpy(m->ice_pwd, s->ice_pwd, sizeof m->ice_pwd);
        if (!m->fingerprint.alg[0]) m->fingerprint = s->fingerprint;
        if (m->setup == HX_SDP_SETUP_NONE) m->setup = s->setup;
        if (s->ice_trickle) m->ice_trickle = true;
        for (unsigned j = 0; j < i; j++)
            if (m->mid[0] && strcmp(m->mid, s->media[j].mid) == 0)
                FAIL(HX_SDP_E_DUPLICATE, "two m-lines with one mid");
    }
    for (unsigned i = 0; i < s->n_bundle; i++)
        if (!hx_sdp_find_mid(s, s->bundle[i])) FAIL(HX_SDP_E_VALUE, "BUNDLE names an unknown mid");
    return 0;
}

static int parse_line(hx_sdp *s, hx__sdp_span line, bool *seen_v, bool *seen_o, const char **what)
{
    if (line.n < 2 || line.p[1] != '=' || line.p[0] < 'a' || line.p[0] > 'z')
        FAIL(HX_SDP_E_SYNTAX, "line is not <letter>=<value>");
    char type = line.p[0];
    hx__sdp_span v = {line.p + 2, line.n - 2};
    if (!*seen_v) {
        if (type != 'v' || !hx__sdp_eq(v, "0", false)) FAIL(HX_SDP_E_VERSION, "first line not v=0");
        *seen_v = true;
        return 0;
    }
    hx_sdp_media *m = s->n_media ? &s->media[s->n_media - 1] : NULL;
    switch (type) {
    case 'v':
        FAIL(HX_SDP_E_VERSION, "second v= line");
    case 'o':
        if (*seen_o || m) FAIL(HX_SDP_E_ORIGIN, "o= repeated or after m=");
        *seen_o = true;
        return parse_origin(s, v, what);
    case 'm':
        if (!*seen_o) FAIL(HX_SDP_E_ORIGIN, "m= before o=");
        if (s->n_media == HX_SDP_MAX_MEDIA) FAIL(HX_SDP_E_LIMIT, "too many m-lines");
        memset(&s->media[s->n_media], 0, sizeof s->media[0]);
        return parse_mline(&s->media[s->n_media++], v, what);
    case 'c': {
        hx__sdp_span t[3];
        for (int i = 0; i < 3; i++)
            if (!hx__sdp_token(&v, &t[i])) FAIL(HX_SDP_E_VALUE, "c= needs three fields");
        if (m && !hx__sdp_copy(m->conn, sizeof m->conn, t[2])) FAIL(HX_SDP_E_LIMIT, "c= too long");
        return 0;
    }
    case 'a': {
        hx__sdp_span name = v;
        bool has_val = hx__sdp_split(&v, ':', &name);
        if (!has_val) v = (hx__sdp_span){v.p + v.n, 0};
        if (name.n == 0) FAIL(HX_SDP_E_SYNTAX, "empty attribute name");
        return m ? media_line_attr(m, name, v, has_val, what) : session_attr(s, name, v, what);
    }
    default:
        return 0;
    }
}

int hx_sdp_parse(const char *text, size_t len, hx_sdp *out, hx_sdp_error *err)
{
    const char *what = NULL;
    int lineno = 0, rc = 0;
    bool seen_v = false, seen_o = false;
    /* The session part; each m-line's entry is cleared when it begins (the 64 entries are
     * 1.8 MB, a join's SDP uses two or three). Entries past n_media are not read. */
    memset(out, 0, offsetof(hx_sdp, media));
    if (len > HX_SDP_MAX_LEN) {
        rc = HX_SDP_E_TOO_LARGE;
        what = "SDP over 64 KiB";
        goto done;
    }
    for (size_t pos = 0; pos < len && rc == 0;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        hx__sdp_span line = {text + pos, end - pos};
        pos = end + 1;
        lineno++;
        if (line.n && line.p[line.n - 1] == '\r') line.n--;
        for (size_t i = 0; i < line.n; i++) {
            unsigned char c = (unsigned char)line.p[i];
            if ((c < 0x20 && c != '\t') || c == 0x7f) {
                rc = HX_SDP_E_SYNTAX;
                what = "control character in line";
                goto done;
            }
        }
        if (line.n == 0) continue; /* blank lines, e.g. a trailing one */
        rc = parse_line(out, line, &seen_v, &seen_o, &what);
    }
    if (rc == 0) lineno = 0; /* what follows is about the whole text */
    if (rc == 0 && !seen_v) {
        rc = HX_SDP_E_VERSION;
        what = "empty SDP";
    } else if (rc == 0 && !seen_o) {
        rc = HX_SDP_E_ORIGIN;
        what = "no o= line";
    }
    if (rc == 0) rc = finish(out, &what);
done:
    if (err) {
        err->line = rc ? lineno : 0;
        err->what = rc ? what : NULL;
    }
    return rc;
}
