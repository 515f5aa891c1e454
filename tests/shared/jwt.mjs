// HS256 tokens signed with the project's JWT secret, as Supabase Auth (users) and the edge
// (guests) mint them; for tests that act as a given user without signing in.
import { createHmac } from "node:crypto";

const b64 = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");

/** A token with `claims`, valid for `ttlSeconds` (negative: already expired). */
export function sign(claims, ttlSeconds = 3600, secret = process.env.STACK_JWT_SECRET) {
  const now = Math.floor(Date.now() / 1000);
  const body = `${b64({ alg: "HS256", typ: "JWT" })}.${b64({ iss: "supabase", iat: now, exp: now + ttlSeconds, ...claims })}`;
  return `${body}.${createHmac("sha256", secret).update(body).digest("base64url")}`;
}
