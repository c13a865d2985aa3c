#!/usr/bin/python3
"""
The production token contract against a `small` profile with a JWKS of three keys (EdDSA,
ES256, HS256): token -> ticket -> join for each algorithm, grants, then every refusal with its
own code against ONE running server (a valid token still works after each), revocations set
through the admin API, key reload by SIGHUP and by the admin endpoint, and the start-up refusal
of a non-dev profile with dev auth on.
"""

import asyncio
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
from harness import AUDIENCE, ISSUER, Key, Sig, claims, mint, short  # noqa: E402

ISSUER2 = "https://id2.hearth.test"
MAX_LIFETIME = 3600


class Ctx:
    pass


def ticket(srv, token, room="lobby", **kw):
    return srv.token_ticket(token, room, **kw)


async def full_flow(C, srv, key, label, room="lobby"):
    sub = f"user-{key.kid}"
    tok = mint(key, sub=sub, sid=f"sid-{key.kid}", device_id=f"dev-{key.kid}")
    r = ticket(srv, tok, room)
    C.eq(f"{label}: token -> ticket 201", r.status, 201)
    t = r.json or {}
    C.eq(f"{label}: ticket user = sub, device = device_id claim", (t.get("user"), t.get("device")),
         (sub, f"dev-{key.kid}"))
    C(f"{label}: ticket expires_at = now + 30 s", isinstance(t.get("expires_at"), int)
      and abs(t["expires_at"] - (time.time() + 30)) <= 3, f"expires_at {t.get('expires_at')}")
    if r.status != 201:
        C(f"{label}: ticket body", False, r.text[:300])
        return
    s = await Sig.connect(t["signal_url"])
    ack = await s.join(t["ticket"], room)
    C.eq(f"{label}: ticket -> join ack", ack.get("type"), "ack")
    p = (ack.get("data") or {}).get("participant") or {}
    C.eq(f"{label}: participant user/device", (p.get("user"), p.get("device")),
         (sub, f"dev-{key.kid}"))
    r = await srv.aadmin("GET", f"/rooms/{room}/participants")
    sids = {x.get("user"): x.get("sid") for x in (r.json or {}).get("participants", [])}
    C.eq(f"{label}: admin participants show the token's sid", sids.get(sub), f"sid-{key.kid}")
    await s.request("leave", {})
    await s.wait_close(3)


def valid_ok(C, ctx, after):
    """After each refusal: the server keeps serving valid tokens."""
    tok = mint(ctx.keys[len(ctx.ok_count) % 3], sub="steady")
    ctx.ok_count.append(1)
    r = ticket(ctx.srv, tok)
    C.eq(f"  ... and a valid token still gets a ticket after: {after}", r.status, 201)


def refuse(C, ctx, what, token, code, status=401, headers=None, room="lobby"):
    if token is None:
        r = ctx.srv.http("POST", "/v1/join-tickets", {"room": room}, headers or {})
    else:
        r = ticket(ctx.srv, token, room, headers=headers)
    C.eq(f"{what} -> {status} {code}", (r.status, r.error_code), (status, code))
    if r.error_code != code and r.status != 201:
        H.log(f"body: {r.text[:300]}")
    valid_ok(C, ctx, what)
    return r


async def grants(C, ctx):
    srv, ed = ctx.srv, ctx.ed
    tok = mint(ed, sub="gina", grants={"rooms": ["stage"], "publish": False, "subscribe": True,
                                       "data": False, "moderate": False})
    r = ticket(srv, tok, "lobby")
    C.eq("grants.rooms without the room -> 403 room_not_granted", (r.status, r.error_code),
         (403, "room_not_granted"))
    r = ticket(srv, tok, "stage")
    C.eq("grants.rooms with the room -> 201", r.status, 201)
    s = await Sig.connect(r.json["signal_url"])
    ack = await s.join(r.json["ticket"], "stage")
    C.eq("join result grants = the token's grants (subscribe only)",
         (ack.get("data") or {}).get("grants"), ["subscribe"])
    await s.request("leave", {})
    await s.wait_close(3)

    tok = mint(ed, sub="mod", grants={"rooms": "*", "publish": True, "subscribe": True,
                                      "data": True, "moderate": True})
    r = ticket(srv, tok, "anything-goes")
    s = await Sig.connect(r.json["signal_url"])
    ack = await s.join(r.json["ticket"], "anything-goes")
    C.eq("grants rooms '*' with moderate -> all four grants",
         sorted((ack.get("data") or {}).get("grants") or []),
         ["data", "moderate", "publish", "subscribe"])
    await s.request("leave", {})
    await s.wait_close(3)

    tok = mint(ed, sub="nodev")
    r = ticket(srv, tok, "lobby", device_id="tablet")
    C.eq("no device_id claim -> the body's device_id", (r.json or {}).get("device"), "tablet")
    r = ticket(srv, mint(ed, sub="nodev2"), "lobby")
    C.eq("no device_id anywhere -> device 'default'", (r.json or {}).get("device"), "default")
    r = ticket(srv, mint(ed, sub="claimdev", device_id="phone"), "lobby", device_id="tablet")
    C.eq("device_id claim wins over the body's", (r.json or {}).get("device"), "phone")
    r = ticket(srv, mint(ed, sub="iss2", iss=ISSUER2), "lobby")
    C.eq("second trusted issuer -> 201", r.status, 201)
    r = ticket(srv, mint(ed, sub="audarr", aud=["someone-else", AUDIENCE]), "lobby")
    C.eq("aud as an array containing this deployment -> 201", r.status, 201)
    r = ticket(srv, mint(ed, sub="realuser"), "lobby",
               headers={"X-User-Id": "mallory", "X-Device-Id": "evil"})
    C.eq("token plus X-User-Id/X-Device-Id headers -> the token's sub, headers ignored",
         ((r.json or {}).get("user"), (r.json or {}).get("device")), ("realuser", "default"))
    now = int(time.time())
    r = ticket(srv, mint(ed, sub="leeway", iat=now - 600, exp=now - 30), "lobby")
    C.eq("expired 30 s ago (within the 60 s leeway) -> 201", r.status, 201)
    r = ticket(srv, mint(ed, sub="leeway2", nbf=now + 30), "lobby")
    C.eq("nbf 30 s ahead (within the 60 s leeway) -> 201", r.status, 201)
    r = ticket(srv, mint(ed, sub="cap", lifetime=MAX_LIFETIME), "lobby")
    C.eq("lifetime exactly auth.max_lifetime_s -> 201", r.status, 201)


async def refusals(C, ctx):
    srv, ed, es, hs = ctx.srv, ctx.ed, ctx.es, ctx.hs
    r = await srv.ahttp("OPTIONS", "/v1/join-tickets", None, {"Origin": "http://evil.example"})
    C.eq("small profile without http.cors_origins: preflight 204 without CORS headers",
         (r.status, {k.lower() for k in r.headers} & {"access-control-allow-origin"}), (204, set()))
    now = int(time.time())
    refuse(C, ctx, "expired token (exp 120 s ago)", mint(ed, iat=now - 600, exp=now - 120),
           "token_expired")
    refuse(C, ctx, "not yet valid (nbf 300 s ahead)", mint(es, nbf=now + 300),
           "token_not_yet_valid")
    refuse(C, ctx, "wrong aud", mint(hs, aud="other.example.org"), "token_wrong_audience")
    refuse(C, ctx, "aud array without this deployment", mint(es, aud=["a.example", "b.example"]),
           "token_wrong_audience")
    refuse(C, ctx, "untrusted iss", mint(ed, iss="https://evil.example.org"),
           "token_untrusted_issuer")
    stranger = Key.ed25519("nope")
    refuse(C, ctx, "unknown kid", mint(stranger), "token_unknown_key")
    refuse(C, ctx, "no kid in the header", mint(ed, headers={"kid": None}), "token_unknown_key")
    c = claims()
    refuse(C, ctx, "alg none (kid of the EdDSA key)",
           H.jws_raw({"alg": "none", "typ": "JWT", "kid": ed.kid}, c), "token_alg_not_allowed")
    refuse(C, ctx, "alg none, no kid", H.jws_raw({"alg": "none", "typ": "JWT"}, claims()),
           "token_alg_not_allowed")
    refuse(C, ctx, "alg RS256 (not allowed)",
           H.jws_raw({"alg": "RS256", "typ": "JWT", "kid": ed.kid}, claims(), lambda si: b"x" * 256),
           "token_alg_not_allowed")
    refuse(C, ctx, "HS256 signed with the EdDSA public key (raw 32 bytes of x), EdDSA kid",
           H.hs256_with_secret(ed.public_raw(), {"alg": "HS256", "typ": "JWT", "kid": ed.kid},
                               claims()), "token_alg_mismatch")
    refuse(C, ctx, "HS256 signed with the EdDSA public key PEM, EdDSA kid",
           H.hs256_with_secret(ed.public_pem(), {"alg": "HS256", "typ": "JWT", "kid": ed.kid},
                               claims()), "token_alg_mismatch")
    refuse(C, ctx, "HS256 signed with the JWK's x string, EdDSA kid",
           H.hs256_with_secret(ed.jwk()["x"].encode(),
                               {"alg": "HS256", "typ": "JWT", "kid": ed.kid}, claims()),
           "token_alg_mismatch")
    refuse(C, ctx, "ES256 header with the EdDSA kid",
           mint(es, headers={"kid": ed.kid}), "token_alg_mismatch")
    refuse(C, ctx, "EdDSA header with the HS256 kid",
           mint(ed, headers={"kid": hs.kid}), "token_alg_mismatch")
    refuse(C, ctx, "tampered payload (sub changed)", H.tamper_payload(mint(ed, sub="bob"),
                                                                      sub="mallory"),
           "token_bad_signature")
    refuse(C, ctx, "tampered payload, ES256", H.tamper_payload(mint(es, sub="bob"), sub="root"),
           "token_bad_signature")
    refuse(C, ctx, "tampered payload, HS256", H.tamper_payload(mint(hs, sub="bob"), sub="root"),
           "token_bad_signature")
    forger = Key.ed25519(ed.kid)
    refuse(C, ctx, "signed by another Ed25519 key under the trusted kid", mint(forger),
           "token_bad_signature")
    for claim in ("jti", "iss", "aud", "sub", "exp", "iat"):
        refuse(C, ctx, f"missing {claim}", mint(ed, drop=(claim,)), "token_missing_claim")
    refuse(C, ctx, "exp not a number", mint(ed, exp="tomorrow"), "token_bad_claim")
    refuse(C, ctx, "grants.rooms not a list or '*'", mint(ed, grants={"rooms": 5}),
           "token_bad_claim")
    refuse(C, ctx, f"lifetime over auth.max_lifetime_s={MAX_LIFETIME}",
           mint(ed, lifetime=MAX_LIFETIME + 3600), "token_lifetime_exceeded")
    refuse(C, ctx, "not a JWT", "not-a-token", "token_malformed")
    refuse(C, ctx, "two parts only", "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0", "token_malformed")
    refuse(C, ctx, "header not JSON", H.b64url("nope") + "." + H.b64url("{}") + ".AAAA",
           "token_malformed")
    refuse(C, ctx, "token over 8192 bytes", mint(ed, pad="x" * 9000), "token_too_large")
    refuse(C, ctx, "dev headers without a token", None, "dev_auth_disabled",
           headers={"X-User-Id": "alice", "X-Device-Id": "laptop"})
    refuse(C, ctx, "no Authorization at all", None, "auth_required")

    r = await srv.aadmin("GET", "/events?kind=auth.failure&limit=1000")
    codes = {e.get("code") for e in (r.json or {}).get("events", [])}
    C("audit: auth.failure events carry the refusal codes",
      {"token_expired", "token_alg_mismatch", "token_bad_signature"} <= codes, sorted(codes))


async def revocations(C, ctx):
    srv, ed, es = ctx.srv, ctx.ed, ctx.es
    tok, c = H.mint_claims(ed, sub="rita")
    rita_jti = c["jti"]
    C.eq("before revocation the token works", ticket(srv, tok).status, 201)
    r = await srv.aadmin("POST", "/revocations", {"jti": c["jti"], "reason": "test"})
    C.eq("admin revoke jti -> 201", r.status, 201)
    rv = (r.json or {}).get("revocation") or {}
    C.eq("revocation record kind/value/reason", (rv.get("kind"), rv.get("value"), rv.get("reason")),
         ("jti", c["jti"], "test"))
    C("revocation answer has disconnected (a number)",
      isinstance((r.json or {}).get("disconnected"), int), short(r.json))
    refuse(C, ctx, "revoked jti", tok, "token_revoked")

    tok, c = H.mint_claims(es, sub="sam", sid="sid-sam-1")
    tok_other_sid = mint(es, sub="sam", sid="sid-sam-2")
    r = await srv.aadmin("POST", "/revocations", {"sid": "sid-sam-1"})
    C.eq("admin revoke sid -> 201", (r.status, ((r.json or {}).get("revocation") or {}).get("kind")),
         (201, "sid"))
    refuse(C, ctx, "revoked sid", tok, "session_revoked")
    refuse(C, ctx, "revoked sid, fresh jti", mint(es, sub="sam", sid="sid-sam-1"),
           "session_revoked")
    C.eq("another sid of the same user still works", ticket(srv, tok_other_sid).status, 201)

    now = int(time.time())
    old = mint(ed, sub="ursula", iat=now - 10)
    r = await srv.aadmin("POST", "/revocations", {"user": "ursula", "not_before": now - 5})
    rv = (r.json or {}).get("revocation") or {}
    C.eq("admin revoke user -> 201 with not_before", (r.status, rv.get("kind"),
                                                        rv.get("not_before")),
         (201, "user", now - 5))
    refuse(C, ctx, "revoked user (token issued before not_before)", old, "user_revoked")
    new = mint(ed, sub="ursula", iat=now)
    C.eq("user revocation: a token issued after not_before works", ticket(srv, new).status, 201)

    r = await srv.aadmin("GET", "/revocations")
    kinds = sorted((x.get("kind"), x.get("value")) for x in (r.json or {}).get("revocations", []))
    C("admin lists the three revocations",
      {("jti", rita_jti), ("sid", "sid-sam-1"), ("user", "ursula")} <= set(kinds), short(kinds))
    r = await srv.aadmin("POST", "/revocations", {})
    C.eq("admin revocation without jti/sid/user -> 400 bad_request", (r.status, r.error_code),
         (400, "bad_request"))


async def reload_keys(C, ctx):
    srv = ctx.srv
    ed2 = Key.ed25519("ed2")
    tok = mint(ed2, sub="newkey")
    C.eq("key not yet in the JWKS -> token_unknown_key", ticket(srv, tok).error_code,
         "token_unknown_key")
    ctx.jwks_keys.append(ed2)
    H.write_jwks(ctx.jwks_path, ctx.jwks_keys)
    srv.send_signal(signal.SIGHUP)
    ok = H.wait_until(lambda: ticket(srv, mint(ed2, sub="newkey")).status == 201, timeout=3,
                      interval=0.1)
    C("SIGHUP: a token with the new kid now works", ok)
    C("SIGHUP: the old keys still work", ticket(srv, mint(ctx.es, sub="old")).status == 201)

    es2 = Key.es256("es2")
    ctx.jwks_keys.append(es2)
    H.write_jwks(ctx.jwks_path, ctx.jwks_keys)
    r = await srv.aadmin("POST", "/keys/reload")
    C.eq("admin keys/reload -> 200 {keys: 5}", (r.status, (r.json or {}).get("keys")), (200, 5))
    C.eq("admin reload: a token with the newer kid works", ticket(srv, mint(es2)).status, 201)

    # Rotation: drop the HS256 key.
    ctx.jwks_keys = [k for k in ctx.jwks_keys if k.kid != ctx.hs.kid]
    H.write_jwks(ctx.jwks_path, ctx.jwks_keys)
    r = await srv.aadmin("POST", "/keys/reload")
    C.eq("rotation: reload without the HS256 key -> keys 4", (r.json or {}).get("keys"), 4)
    C.eq("rotation: the dropped kid -> token_unknown_key",
         ticket(srv, mint(ctx.hs)).error_code, "token_unknown_key")

    # A bad file: the old keys stay.
    with open(ctx.jwks_path, "w") as f:
        f.write('{"keys": [ {"kty": "OKP", "crv": "Ed25519"')
    r = await srv.aadmin("POST", "/keys/reload")
    C.eq("admin reload of a broken JWKS -> 500 internal_error", (r.status, r.error_code),
         (500, "internal_error"))
    C.eq("broken JWKS: the old keys stay", ticket(srv, mint(ed2)).status, 201)
    srv.send_signal(signal.SIGHUP)
    await asyncio.sleep(0.5)
    C("SIGHUP with a broken JWKS: the server keeps running", srv.alive())
    C.eq("SIGHUP with a broken JWKS: the old keys stay", ticket(srv, mint(ctx.ed)).status, 201)
    H.write_jwks(ctx.jwks_path, ctx.jwks_keys)
    r = await srv.aadmin("POST", "/keys/reload")
    C.eq("fixed JWKS reloads", (r.status, (r.json or {}).get("keys")), (200, 4))


def program_flags(C, args, jwks_path):
    ok = H.Server(args.build_dir, "small", name="check-config", jwks_file=jwks_path,
                  sets=["rooms.max_participants=77"])
    rc, out = ok.run_once(args=["--check-config"])
    C("--check-config on a valid small config exits 0", rc == 0, f"exit {rc}: {out[-300:]!r}")
    C("--check-config prints the configuration (with the --set value)", "77" in out
      and "small" in out, out[-400:])
    bad = H.Server(args.build_dir, "small", name="check-config-bad", jwks_file=jwks_path,
                   sets=["rooms.max_participants=lots"])
    rc, out = bad.run_once(args=["--check-config"])
    C("--check-config with a bad value exits non-zero naming the key",
      rc not in (0, None) and "rooms.max_participants" in out, f"exit {rc}: {out[-300:]!r}")
    for flag in ("--version", "--help"):
        p = subprocess.run([H.hearthd_path(args.build_dir), flag], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=10)
        out = p.stdout.decode("utf-8", "replace")
        C(f"hearthd {flag} exits 0 and prints something", p.returncode == 0 and out.strip(),
          f"exit {p.returncode}: {out[:200]!r}")
    p = subprocess.run([H.hearthd_path(args.build_dir), "--no-such-flag"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=10)
    C("hearthd with an unknown flag exits non-zero", p.returncode != 0,
      f"exit {p.returncode}")


def refused_configs(C, args, jwks_path):
    bad = H.Server(args.build_dir, "small", name="bad-devauth", jwks_file=jwks_path,
                   sets=["auth.dev=true"])
    rc, out = bad.run_once()
    C("small profile with --set auth.dev=true refuses to start (non-zero exit)",
      rc not in (0, None), f"exit {rc}; output: {out[-300:]!r}")
    C("... and the message names auth.dev", "auth.dev" in out, out[-300:])

    bad = H.Server(args.build_dir, "small", name="bad-devauth-file", jwks_file=jwks_path,
                   config={"auth": {"dev": "true"}})
    rc, out = bad.run_once()
    C("small profile with auth.dev = true in the file refuses to start",
      rc not in (0, None) and "auth.dev" in out, f"exit {rc}; output: {out[-300:]!r}")

    bad = H.Server(args.build_dir, "small", name="bad-nojwks", jwks_file=None)
    rc, out = bad.run_once()
    C("small profile without auth.jwks_file refuses to start, naming it",
      rc not in (0, None) and "jwks_file" in out, f"exit {rc}; output: {out[-300:]!r}")

    bad = H.Server(args.build_dir, "small", name="bad-key", jwks_file=jwks_path,
                   config={"auth": {"no_such_key": "1"}})
    rc, out = bad.run_once()
    C("unknown configuration key refuses to start, naming it",
      rc not in (0, None) and "no_such_key" in out, f"exit {rc}; output: {out[-300:]!r}")


async def main(args, C):
    ctx = Ctx()
    tmp = H.make_tmp("hearth-it-jwks-")
    ctx.jwks_path = os.path.join(tmp, "jwks.json")
    ctx.ed = Key.ed25519("ed1")
    ctx.es = Key.es256("es1")
    ctx.hs = Key.hs256("hs1")
    ctx.keys = [ctx.ed, ctx.es, ctx.hs]
    ctx.jwks_keys = list(ctx.keys)
    ctx.ok_count = []
    H.write_jwks(ctx.jwks_path, ctx.jwks_keys)
    srv = ctx.srv = H.Server(args.build_dir, "small", name="small", jwks_file=ctx.jwks_path,
                             issuers=f"{ISSUER},{ISSUER2}",
                             sets=[f"auth.max_lifetime_s={MAX_LIFETIME}",
                                   "http.rate_per_s=1000", "http.burst=1000"])
    with C.section("start a small-profile server with a JWKS of three keys"):
        srv.start()
        C.eq("small server is up: /healthz answers 200", srv.http("GET", "/healthz").status, 200)
    if srv.proc is None:
        return
    with C.section("production flow per algorithm"):
        for key, label in ((ctx.ed, "EdDSA"), (ctx.es, "ES256"), (ctx.hs, "HS256")):
            await full_flow(C, srv, key, label)
    with C.section("grants, device and claim edges"):
        await grants(C, ctx)
    with C.section("token refusals, one server"):
        await refusals(C, ctx)
    with C.section("revocations"):
        await revocations(C, ctx)
    with C.section("key reload"):
        await reload_keys(C, ctx)
    with C.section("server still serving at the end"):
        C("server process alive after all refusals", srv.alive())
        await full_flow(C, srv, ctx.es, "ES256 at the end", room="final")
        srv.stop(C, label="small server: SIGTERM -> exit 0 within 5 s")
    with C.section("configurations that must not start"):
        refused_configs(C, args, ctx.jwks_path)
    with C.section("program flags"):
        program_flags(C, args, ctx.jwks_path)


if __name__ == "__main__":
    H.run_main("test_jwt_flow", main)
