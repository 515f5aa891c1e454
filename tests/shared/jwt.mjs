// Tokens as Supabase Auth mints them for users, for tests that act as a given user without
// signing in: ES256 with the project's signing key (STACK_AUTH_SIGNING_KEY, a private JWK) in the
// signing-keys system, else HS256 with the legacy secret (STACK_JWT_SECRET).
import { createHmac, createPrivateKey, sign as signBytes } from "node:crypto";

const b64 = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");

/** A token with `claims`, valid for `ttlSeconds` (negative: already expired). */
export function sign(claims, ttlSeconds = 3600) {
  const now = Math.floor(Date.now() / 1000);
  const payload = b64({ iss: "supabase", iat: now, exp: now + ttlSeconds, ...claims });
  const jwk = process.env.STACK_AUTH_SIGNING_KEY;
  if (jwk) {
    const key = JSON.parse(jwk);
    const body = `${b64({ alg: "ES256", typ: "JWT", kid: key.kid })}.${payload}`;
    const signature = signBytes("sha256", Buffer.from(body), {
      key: createPrivateKey({ key, format: "jwk" }),
      dsaEncoding: "ieee-p1363",
    });
    return `${body}.${signature.toString("base64url")}`;
  }
  const body = `${b64({ alg: "HS256", typ: "JWT" })}.${payload}`;
  return `${body}.${createHmac("sha256", process.env.STACK_JWT_SECRET).update(body).digest("base64url")}`;
}
