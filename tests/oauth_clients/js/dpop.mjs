// oauth4webapi (panva's strict OAuth 2 / OpenID Connect client) with DPoP against the live
// provider, for tests/oauth_clients/test_oauth4webapi.py: JSON lines on stdout, the URL the
// browser was sent back to on stdin.
//   node dpop.mjs '<options>'  -> {authorizationUrl}, reads a line, -> {results}
// The flow: discovery, an authorization request with PKCE (pushed first when the provider
// offers PAR), the code exchanged with a DPoP proof (retried once with the server's nonce),
// UserInfo and the LeadExec API called with DPoP, the same token sent as Bearer (refused),
// a refresh with the same key, and one with another key (refused).
import * as readline from "node:readline";
import * as oauth from "oauth4webapi";

const out = (value) => process.stdout.write(JSON.stringify(value) + "\n");
const options = JSON.parse(process.argv[2]);
const insecure = { [oauth.allowInsecureRequests]: true }; // the test provider is http://127.0.0.1

// A DPoP request that the server may answer with use_dpop_nonce first: the handle keeps the
// nonce from that answer, and the request is sent once more.
async function withNonce(send, process, counter) {
  try {
    return await process(await send());
  } catch (err) {
    if (!oauth.isDPoPNonceError(err)) throw err;
    counter.retries += 1;
    return await process(await send());
  }
}

async function refusal(promise) {
  try {
    await promise;
    return { refused: false };
  } catch (err) {
    return { refused: true, name: err.name, error: err.error, status: err.status };
  }
}

const issuer = new URL(options.issuer);
const as = await oauth.processDiscoveryResponse(
  issuer,
  await oauth.discoveryRequest(issuer, insecure),
);
const client = { client_id: options.clientId };
const clientAuth = oauth.None();
const keyPair = await oauth.generateKeyPair("ES256");
const DPoP = oauth.DPoP(client, keyPair);

const codeVerifier = oauth.generateRandomCodeVerifier();
const state = oauth.generateRandomState();
const nonce = oauth.generateRandomNonce();
const params = new URLSearchParams({
  client_id: client.client_id,
  redirect_uri: options.redirectUri,
  response_type: "code",
  scope: "openid profile email offline_access",
  code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier),
  code_challenge_method: "S256",
  state,
  nonce,
});
const authorizationUrl = new URL(as.authorization_endpoint);
let pushed = false;
if (options.par && as.pushed_authorization_request_endpoint) {
  const counter = { retries: 0 };
  const par = await withNonce(
    () => oauth.pushedAuthorizationRequest(as, client, clientAuth, params, { DPoP, ...insecure }),
    (response) => oauth.processPushedAuthorizationResponse(as, client, response),
    counter,
  );
  authorizationUrl.searchParams.set("client_id", client.client_id);
  authorizationUrl.searchParams.set("request_uri", par.request_uri);
  pushed = true;
} else {
  for (const [k, v] of params) authorizationUrl.searchParams.set(k, v);
}
out({ authorizationUrl: authorizationUrl.href, pushed });

const lines = readline.createInterface({ input: process.stdin });
const callback = (await lines[Symbol.asyncIterator]().next()).value;
lines.close();

const counter = { retries: 0 };
const callbackParams = oauth.validateAuthResponse(as, client, new URL(callback), state);
const tokens = await withNonce(
  () =>
    oauth.authorizationCodeGrantRequest(
      as, client, clientAuth, callbackParams, options.redirectUri, codeVerifier,
      { DPoP, ...insecure },
    ),
  (response) =>
    oauth.processAuthorizationCodeResponse(as, client, response, {
      expectedNonce: nonce,
      requireIdToken: true,
    }),
  counter,
);
const claims = oauth.getValidatedIdTokenClaims(tokens);

const userinfo = await oauth.processUserInfoResponse(
  as, client, claims.sub,
  await oauth.userInfoRequest(as, client, tokens.access_token, { DPoP, ...insecure }),
);
const apiUrl = new URL(options.issuer + "/api/v1/me");
const me = await oauth.protectedResourceRequest(
  tokens.access_token, "GET", apiUrl, undefined, undefined, { DPoP, ...insecure },
);
const asBearer = await fetch(apiUrl, { headers: { Authorization: `Bearer ${tokens.access_token}` } });

const refreshed = await withNonce(
  () => oauth.refreshTokenGrantRequest(as, client, clientAuth, tokens.refresh_token, { DPoP, ...insecure }),
  (response) => oauth.processRefreshTokenResponse(as, client, response),
  counter,
);
const meAgain = await oauth.protectedResourceRequest(
  refreshed.access_token, "GET", apiUrl, undefined, undefined, { DPoP, ...insecure },
);
// A thief with the refresh token but another key.
const thief = oauth.DPoP(client, await oauth.generateKeyPair("ES256"));
const stolen = await refusal(
  withNonce(
    () => oauth.refreshTokenGrantRequest(as, client, clientAuth, refreshed.refresh_token, { DPoP: thief, ...insecure }),
    (response) => oauth.processRefreshTokenResponse(as, client, response),
    { retries: 0 },
  ),
);

out({
  metadata: as,
  nonceRetries: counter.retries,
  sub: claims.sub,
  tokenType: tokens.token_type,
  scope: tokens.scope,
  hasRefreshToken: typeof tokens.refresh_token === "string",
  jkt: await DPoP.calculateThumbprint(),
  userinfo,
  me: { status: me.status, body: await me.json() },
  asBearer: { status: asBearer.status, challenge: asBearer.headers.get("www-authenticate") },
  refreshed: {
    tokenType: refreshed.token_type,
    rotated: refreshed.refresh_token !== tokens.refresh_token,
  },
  meAgain: { status: meAgain.status, body: await meAgain.json() },
  stolen,
});
