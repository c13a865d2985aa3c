/*
 * libFuzzer target for auth/resume_token, built like fuzz_ticket: each input
 * is opened as token text under a fixed key (length checks, base64url, the
 * MAC comparison), and MAC'd as a raw body and opened (the field layout
 * behind the MAC). Whatever opens must carry valid ids and a non-zero
 * generation, and re-seal to exactly the text that was opened.
 *
 * Seed corpus: fuzz/corpus/resume (tokens sealed under the key below, their
 * raw bodies, garbage).
 */
#include "auth/resume_token.h"

#include "common/b64.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#define MAC_LEN 32
#define RAW_CAP 1024
#define TEXT_CAP 2048

static const uint8_t key[HX_RESUME_KEY_LEN] = "hearth-fuzz-resume-key-000000000";

static void check_opened(const hx_resume_token *t, const char *text, size_t len)
{
    if (!hx_id_valid(t->participant) || !hx_id_valid(t->user) || !hx_id_valid(t->device) ||
        !hx_id_valid(t->room) || t->gen == 0 || strlen(t->sid) > HX_MAX_ID_LEN ||
        strlen(t->jti) > HX_MAX_ID_LEN)
        abort();
    char again[TEXT_CAP];
    long n = hx_resume_seal(key, t, again, sizeof again);
    if (n < 0 || (size_t)n != len || memcmp(again, text, len) != 0) abort();
    hx_resume_token u;
    if (hx_resume_open(key, again, (size_t)n, &u) != HX_RESUME_OK || u.gen != t->gen ||
        u.issued_ms != t->issued_ms || strcmp(u.participant, t->participant) ||
        strcmp(u.user, t->user) || strcmp(u.device, t->device) || strcmp(u.room, t->room) ||
        strcmp(u.sid, t->sid) || strcmp(u.jti, t->jti) || u.token_iat != t->token_iat)
        abort();
}

static void open_text(const char *text, size_t len)
{
    hx_resume_token t;
    int rc = hx_resume_open(key, text, len, &t);
    if (rc == HX_RESUME_OK)
        check_opened(&t, text, len);
    else if (rc != HX_RESUME_INVALID)
        abort();
}

static void open_body(const uint8_t *data, size_t size)
{
    uint8_t raw[RAW_CAP];
    char text[TEXT_CAP];
    unsigned int maclen = 0;
    if (size + MAC_LEN > sizeof raw) return;
    memcpy(raw, data, size);
    if (!HMAC(EVP_sha256(), key, sizeof key, data, size, raw + size, &maclen) || maclen != MAC_LEN)
        abort();
    long n = hx_b64_encode(raw, size + MAC_LEN, text, sizeof text, 1);
    if (n < 0) abort();
    open_text(text, (size_t)n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    open_text((const char *)data, size);
    open_body(data, size);
    return 0;
}
