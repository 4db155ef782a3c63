// Sign in with LeadExec from a Node.js server, with openid-client v6 (npm install openid-client jose).
import * as client from "openid-client";
import * as jose from "jose";

export const SCOPE = "openid profile email offline_access";

// Once, when your server starts: reads LeadExec's discovery document (endpoints, signing keys).
// Give clientSecret (client_secret_basic), privateKey (private_key_jwt, from loadPrivateKey)
// or neither (a public client, auth method none).
export async function configure({ issuer, clientId, clientSecret, privateKey }) {
  const auth = clientSecret
    ? client.ClientSecretBasic(clientSecret)
    : privateKey
      ? client.PrivateKeyJwt(privateKey)
      : client.None();
  // Verify ID token signatures with LeadExec's published keys (jwks_uri) as well.
  const execute = [client.enableNonRepudiationChecks];
  // Plain http is refused except for a provider you run on your own machine for tests.
  if (["127.0.0.1", "localhost"].includes(new URL(issuer).hostname)) {
    execute.push(client.allowInsecureRequests);
  }
  return client.discovery(new URL(issuer), clientId, undefined, auth, { execute });
}

// private_key_jwt, once: make a key pair, register publicJwks with your application on
// LeadExec and keep privateJwk as secret as a password.
export async function generateClientKeys() {
  const { publicKey, privateKey } = await jose.generateKeyPair("ES256", { extractable: true });
  const publicJwk = await jose.exportJWK(publicKey);
  const kid = await jose.calculateJwkThumbprint(publicJwk);
  return {
    publicJwks: { keys: [{ ...publicJwk, kid, alg: "ES256", use: "sig" }] },
    privateJwk: { ...(await jose.exportJWK(privateKey)), kid, alg: "ES256" },
  };
}

export async function loadPrivateKey(privateJwk) {
  return { key: await jose.importJWK(privateJwk, privateJwk.alg), kid: privateJwk.kid };
}

// Step 1, when the user clicks "Sign in with LeadExec": send the browser to `url` and keep
// `pending` in the user's session (server side) until they come back.
export async function startSignIn(config, redirectUri, scope = SCOPE) {
  const pending = {
    codeVerifier: client.randomPKCECodeVerifier(),
    state: client.randomState(),
    nonce: client.randomNonce(),
  };
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope,
    code_challenge: await client.calculatePKCECodeChallenge(pending.codeVerifier),
    code_challenge_method: "S256",
    state: pending.state,
    nonce: pending.nonce,
  });
  return { url: url.href, pending };
}

// Step 2, at your redirect URI, with the full URL the browser arrived at: checks iss, state
// and the code, sends the PKCE verifier, and verifies the ID token (signature against
// LeadExec's JWKS, iss, aud, exp, nonce). Throws client.AuthorizationResponseError when the
// user pressed Cancel (error "access_denied").
export async function finishSignIn(config, callbackUrl, pending) {
  const tokens = await client.authorizationCodeGrant(config, new URL(callbackUrl), {
    pkceCodeVerifier: pending.codeVerifier,
    expectedState: pending.state,
    expectedNonce: pending.nonce,
    idTokenExpected: true,
  });
  // tokens.claims(): who signed in (sub, email, name); tokens.access_token for the LeadExec
  // API; tokens.refresh_token (with offline_access) to get new tokens later.
  return tokens;
}

// New tokens before the access token expires (tokens.expiresIn()). Always store the
// refresh_token of the answer: public clients and clients with rotation get a new one each
// time, and an old one used again ends the user's grant.
export async function refresh(config, refreshToken) {
  return client.refreshTokenGrant(config, refreshToken);
}

export async function userInfo(config, accessToken, sub) {
  return client.fetchUserInfo(config, accessToken, sub);
}

// When the user signs out of your application or disconnects LeadExec: this ends the
// grant, so every access and refresh token issued under it stops working at once.
export async function revoke(config, refreshToken) {
  await client.tokenRevocation(config, refreshToken, { token_type_hint: "refresh_token" });
}

// To sign the user out of LeadExec too: send the browser here (the URI must be registered as
// a post-logout redirect URI of your application).
export function signOutUrl(config, idToken, postLogoutRedirectUri) {
  return client.buildEndSessionUrl(config, {
    id_token_hint: idToken,
    post_logout_redirect_uri: postLogoutRedirectUri,
  }).href;
}
