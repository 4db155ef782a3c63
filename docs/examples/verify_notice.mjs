// Check a disconnect notice before acting on it: the Ed25519 signature over `t.body` with the
// key its `kid` names, and a timestamp no older than five minutes. Node 18 or later.
// Pass the raw request body (a Buffer, before any JSON parsing) and the LeadExec-Signature
// header; cache the key set and fetch it again for a kid you lack.
import { createPublicKey, verify as verifySignature } from "node:crypto";

const base = process.env.LEADEXEC_URL;
const MAX_AGE = 300;

function verify(body, header, keys) {
  const fields = Object.fromEntries(
    header.split(",").filter((p) => p.includes("=")).map((p) => [p.slice(0, p.indexOf("=")), p.slice(p.indexOf("=") + 1)]),
  );
  if (Math.abs(Date.now() / 1000 - Number(fields.t ?? 0)) > MAX_AGE) throw new Error("stale or missing timestamp");
  const jwk = keys.find((k) => k.kid === fields.kid);
  if (!jwk) throw new Error("unknown key");
  const signed = Buffer.concat([Buffer.from(`${fields.t}.`), body]);
  const signature = Buffer.from(fields.ed25519 ?? "", "base64url");
  if (!verifySignature(null, signed, createPublicKey({ key: jwk, format: "jwk" }), signature)) {
    throw new Error("bad signature");
  }
  return JSON.parse(body.toString("utf8"));
}

const { keys } = await (await fetch(`${base}/signin/keys`)).json();
const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
try {
  const notice = verify(Buffer.concat(chunks), process.env.LEADEXEC_SIGNATURE ?? "", keys);
  // Forget the grant's tokens for notice.userId; notice.id is the same on a retry.
  console.log(JSON.stringify(notice));
} catch (refused) {
  console.error(`rejected: ${refused.message}`);
  process.exit(1);
}
