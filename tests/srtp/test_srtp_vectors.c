/*
 * Known-answer tests for srtp/, byte for byte from the RFC text:
 *
 *   RFC 3711 B.3  key derivation: cipher key, cipher salt and the 94-octet
 *                 auth key from the master key and salt (labels 0, 2, 1);
 *   RFC 3711 B.2  the AES-CM keystream for SSRC 0, ROC 0, SEQ 0: blocks 0-2
 *                 and the last three of the 65282-block segment, through
 *                 the cipher directly and blocks 0-2 through hx_srtp_protect;
 *   RFC 7714 §16.1.1/§16.1.2  AEAD_AES_128_GCM RTP encryption and decryption;
 *   RFC 7714 §17.1  SRTCP encryption (index 0x5d4), and its decryption;
 *   RFC 7714 §17.3  an authenticated-only SRTCP packet (E = 0) verifies.
 *
 * RFC 7714 publishes session keys, not master keys, so its vectors drive a
 * context built from session keys (hx__srtp_create_session). The IVs the
 * RFC prints are checked too, so a wrong IV cannot hide behind a right tag.
 */
#include "srtp/srtp_internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Hex text to bytes, spaces ignored. Returns the byte count. */
static size_t hex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int hi = -1;
    for (; *s; s++) {
        int v;
        if (*s >= '0' && *s <= '9')
            v = *s - '0';
        else if (*s >= 'a' && *s <= 'f')
            v = *s - 'a' + 10;
        else if (*s >= 'A' && *s <= 'F')
            v = *s - 'A' + 10;
        else
            continue;
        if (hi < 0) {
            hi = v;
        } else {
            assert_true(n < cap);
            out[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    assert_int_equal(hi, -1);
    return n;
}

static void assert_hex(const uint8_t *got, size_t len, const char *want)
{
    uint8_t w[256];
    size_t n = hex(want, w, sizeof w);
    assert_int_equal(len, n);
    assert_memory_equal(got, w, n);
}

/* ---- RFC 3711 B.3 ---- */

static const char B3_KEY[] = "E1F97A0D3E018BE0D64FA32C06DE4139";
static const char B3_SALT[] = "0EC675AD498AFEEBB6960B3AABE6";

static void test_b3_key_derivation(void **state)
{
    uint8_t key[16], salt[14], out[94];
    hex(B3_KEY, key, sizeof key);
    hex(B3_SALT, salt, sizeof salt);

    assert_int_equal(hx__srtp_kdf(key, 16, salt, 14, 0x00, out, 16), 0);
    assert_hex(out, 16, "C61E7A93744F39EE10734AFE3FF7A087");
    assert_int_equal(hx__srtp_kdf(key, 16, salt, 14, 0x02, out, 14), 0);
    assert_hex(out, 14, "30CBBC08863D8C85D49DB34A9AE1");
    assert_int_equal(hx__srtp_kdf(key, 16, salt, 14, 0x01, out, 94), 0);
    assert_hex(out, 94,
               "CEBE321F6FF7716B6FD4AB49AF256A15 6D38BAA48F0A0ACF3C34E2359E6CDBCE"
               "E049646C43D9327AD175578EF7227098 6371C10C9A369AC2F94A8C5FBCDDDC25"
               "6D6E919A48B610EF17C2041E47403576 6B68642C59BBFC2F34DB60DBDFB2");

    /* The profile's derivation takes the first 20 octets as the HMAC-SHA1 key. */
    hx__srtp_keys k;
    assert_int_equal(hx__srtp_derive(HX_SRTP_AES128_CM_SHA1_80, key, salt, &k), 0);
    assert_hex(k.rtp_key, 16, "C61E7A93744F39EE10734AFE3FF7A087");
    assert_hex(k.rtp_salt, 14, "30CBBC08863D8C85D49DB34A9AE1");
    assert_hex(k.rtp_auth, 20, "CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4");
    /* SRTCP keys come from other labels: they must differ from the RTP ones. */
    assert_memory_not_equal(k.rtcp_key, k.rtp_key, 16);
    assert_memory_not_equal(k.rtcp_auth, k.rtp_auth, 20);
}

/* ---- RFC 3711 B.2 ---- */

#define B2_BLOCKS 65282

static hx_srtp_ctx *b2_ctx(void)
{
    hx__srtp_keys k;
    memset(&k, 0, sizeof k);
    hex("2B7E151628AED2A6ABF7158809CF4F3C", k.rtp_key, 16);
    hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD", k.rtp_salt, 14); /* "already shifted": 0000 dropped */
    hx_srtp_ctx *ctx;
    assert_int_equal(hx__srtp_create_session(&ctx, HX_SRTP_AES128_CM_SHA1_80, &k), 0);
    return ctx;
}

static void test_b2_keystream(void **state)
{
    hx_srtp_ctx *ctx = b2_ctx();
    uint8_t iv[16];
    hx__srtp_iv(iv, ctx->rtp_salt, 14, 0, 0);
    assert_hex(iv, 16, "F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000");

    size_t len = (size_t)B2_BLOCKS * 16;
    uint8_t *ks = calloc(1, len);
    assert_non_null(ks);
    assert_int_equal(hx__cm_xor(ctx->rtp_enc, iv, ks, len), 0);
    assert_hex(ks + 0x0000 * 16, 16, "E03EAD0935C95E80E166B16DD92B4EB4");
    assert_hex(ks + 0x0001 * 16, 16, "D23513162B02D0F72A43A2FE4A5F97AB");
    assert_hex(ks + 0x0002 * 16, 16, "41E95B3BB0A2E8DD477901E4FCA894C0");
    assert_hex(ks + 0xfeff * 16, 16, "EC8CDF7398607CB0F2D21675EA9EA1E4");
    assert_hex(ks + 0xff00 * 16, 16, "362B7C3C6773516318A077D7FC5073AE");
    assert_hex(ks + 0xff01 * 16, 16, "6A2CC3787889374FBEB4C81B17BA6C44");
    free(ks);
    hx_srtp_destroy(ctx);
}

static void test_b2_through_protect(void **state)
{
    hx_srtp_ctx *ctx = b2_ctx();
    uint8_t pkt[12 + 48 + 10] = {0x80, 0x00}; /* SSRC 0, SEQ 0, zero payload */
    size_t len = 12 + 48;
    assert_int_equal(hx_srtp_protect(ctx, pkt, &len, sizeof pkt), 0);
    assert_int_equal(len, sizeof pkt);
    assert_hex(pkt + 12, 48,
               "E03EAD0935C95E80E166B16DD92B4EB4 D23513162B02D0F72A43A2FE4A5F97AB"
               "41E95B3BB0A2E8DD477901E4FCA894C0");
    hx_srtp_destroy(ctx);
}

/* ---- RFC 7714 §16, §17 ---- */

static const char GCM_KEY[] = "00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f";
static const char GCM_SALT[] = "51 75 69 64 20 70 72 6f 20 71 75 6f";

static const char RTP_PLAIN[] = "8040f17b 8041f8d3 5501a0b2 47616c6c"
                                "69612065 7374206f 6d6e6973 20646976"
                                "69736120 696e2070 61727465 73207472"
                                "6573";
static const char RTP_SEALED[] = "8040f17b 8041f8d3 5501a0b2 f24de3a3"
                                 "fb34de6c acba861c 9d7e4bca be633bd5"
                                 "0d294e6f 42a5f47a 51c7d19b 36de3adf"
                                 "8833899d 7f27beb1 6a9152cf 765ee439"
                                 "0cce";
static const char RTCP_PLAIN[] = "81c8000d 4d617273 4e545031 4e545032"
                                 "52545020 0000042a 0000e930 4c756e61"
                                 "deadbeef deadbeef deadbeef deadbeef"
                                 "deadbeef";
static const char RTCP_SEALED[] = "81c8000d 4d617273 63e94885 dcdab67c"
                                  "a727d766 2f6b7e99 7ff5c0f7 6c06f32d"
                                  "c676a5f1 730d6fda 4ce09b46 86303ded"
                                  "0bb9275b c84aa458 96cf4d2f c5abf872"
                                  "45d9eade 800005d4";
static const char RTCP_TAGGED[] = "81c8000d 4d617273 4e545031 4e545032"
                                  "52545020 0000042a 0000e930 4c756e61"
                                  "deadbeef deadbeef deadbeef deadbeef"
                                  "deadbeef 841dd968 3dd78ec9 2ae58790"
                                  "125f62b3 000005d4";

static hx_srtp_ctx *gcm_ctx(void)
{
    hx__srtp_keys k;
    memset(&k, 0, sizeof k);
    hex(GCM_KEY, k.rtp_key, 16);
    hex(GCM_KEY, k.rtcp_key, 16);
    hex(GCM_SALT, k.rtp_salt, 12);
    hex(GCM_SALT, k.rtcp_salt, 12);
    hx_srtp_ctx *ctx;
    assert_int_equal(hx__srtp_create_session(&ctx, HX_SRTP_AEAD_AES_128_GCM, &k), 0);
    return ctx;
}

static void test_gcm_ivs(void **state)
{
    uint8_t salt[12], iv[12];
    hex(GCM_SALT, salt, sizeof salt);
    hx__srtp_iv(iv, salt, 12, 0x5501a0b2, 0xf17b); /* ROC 0 */
    assert_hex(iv, 12, "51 75 3c 65 80 c2 72 6f 20 71 84 14");
    hx__srtp_iv(iv, salt, 12, 0x4d617273, 0x5d4);
    assert_hex(iv, 12, "51 75 24 05 52 03 72 6f 20 71 70 bb");
}

static void test_gcm_rtp_encrypt(void **state)
{
    hx_srtp_ctx *ctx = gcm_ctx();
    uint8_t pkt[128];
    size_t len = hex(RTP_PLAIN, pkt, sizeof pkt);
    assert_int_equal(hx_srtp_protect(ctx, pkt, &len, sizeof pkt), 0);
    assert_hex(pkt, len, RTP_SEALED);
    hx_srtp_destroy(ctx);
}

static void test_gcm_rtp_decrypt(void **state)
{
    hx_srtp_ctx *ctx = gcm_ctx();
    uint8_t pkt[128];
    size_t len = hex(RTP_SEALED, pkt, sizeof pkt);
    assert_int_equal(hx_srtp_unprotect(ctx, pkt, &len), 0);
    assert_hex(pkt, len, RTP_PLAIN);
    /* The same packet again is a replay. */
    len = hex(RTP_SEALED, pkt, sizeof pkt);
    assert_int_equal(hx_srtp_unprotect(ctx, pkt, &len), HX_SRTP_ERR_REPLAY);
    hx_srtp_destroy(ctx);
}

static void test_gcm_rtcp_encrypt(void **state)
{
    hx_srtp_ctx *ctx = gcm_ctx();
    hx__stream *s = hx__srtp_add(ctx, 0x4d617273);
    assert_non_null(s);
    s->rtcp_next = 0x5d4; /* §17: "with 32-bit SRTCP index 000005d4" */
    uint8_t pkt[128];
    size_t len = hex(RTCP_PLAIN, pkt, sizeof pkt);
    assert_int_equal(hx_srtcp_protect(ctx, pkt, &len, sizeof pkt), 0);
    assert_hex(pkt, len, RTCP_SEALED);
    assert_int_equal(s->rtcp_next, 0x5d5);
    hx_srtp_destroy(ctx);
}

static void test_gcm_rtcp_decrypt(void **state)
{
    hx_srtp_ctx *ctx = gcm_ctx();
    uint8_t pkt[128];
    size_t len = hex(RTCP_SEALED, pkt, sizeof pkt);
    assert_int_equal(hx_srtcp_unprotect(ctx, pkt, &len), 0);
    assert_hex(pkt, len, RTCP_PLAIN);
    hx_srtp_destroy(ctx);
}

static void test_gcm_rtcp_tag_only(void **state)
{
    hx_srtp_ctx *ctx = gcm_ctx();
    uint8_t pkt[128];
    size_t len = hex(RTCP_TAGGED, pkt, sizeof pkt);
    assert_int_equal(hx_srtcp_unprotect(ctx, pkt, &len), 0);
    assert_hex(pkt, len, RTCP_PLAIN);
    /* Setting the E flag on it changes the AAD: the tag no longer verifies. */
    len = hex(RTCP_TAGGED, pkt, sizeof pkt);
    pkt[len - 4] |= 0x80;
    hx_srtp_forget(ctx, 0x4d617273);
    assert_int_equal(hx_srtcp_unprotect(ctx, pkt, &len), HX_SRTP_ERR_AUTH);
    hx_srtp_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_b3_key_derivation),  cmocka_unit_test(test_b2_keystream),
        cmocka_unit_test(test_b2_through_protect), cmocka_unit_test(test_gcm_ivs),
        cmocka_unit_test(test_gcm_rtp_encrypt),    cmocka_unit_test(test_gcm_rtp_decrypt),
        cmocka_unit_test(test_gcm_rtcp_encrypt),   cmocka_unit_test(test_gcm_rtcp_decrypt),
        cmocka_unit_test(test_gcm_rtcp_tag_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
