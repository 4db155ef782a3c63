// oauth4webapi (panva's strict OAuth 2 / OpenID Connect client) with pushed authorization
// requests against the live provider, for tests/oauth_clients/test_oauth4webapi_par.py: a
// confidential client (client_secret_basic) registered to require PAR. JSON lines on stdout,
// the URL the browser was sent back to on stdin.
//   node par.mjs '<options>'  -> {authorizationUrl, requestUri}, reads a line, -> {results}
// The flow: discovery, the request pushed to /oauth2/par (with PKCE, state and nonce), the
// browser sent with client_id and request_uri only, the code exchanged (the library checks
// iss, state, the ID token's signature, nonce and at_hash), UserInfo, a refresh.
import * as readline from "node:readline";
import * as oauth from "oauth4webapi";

const out = (value) => process.stdout.write(JSON.stringify(value) + "\n");
const options = JSON.parse(process.argv[2]);
const insecure = { [oauth.allowInsecureRequests]: true }; // the test provider is http://127.0.0.1

const issuer = new URL(options.issuer);
const as = await oauth.processDiscoveryResponse(
  issuer,
  await oauth.discoveryRequest(issuer, insecure),
);
const client = { client_id: options.clientId };
const clientAuth = oauth.ClientSecretBasic(options.clientSecret);

const codeVerifier = oauth.generateRandomCodeVerifier();
const state = oauth.generateRandomState();
const nonce = oauth.generateRandomNonce();
const params = new URLSearchParams({
  redirect_uri: options.redirectUri,
  response_type: "code",
  scope: "openid profile email offline_access",
  code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier),
  code_challenge_method: "S256",
  state,
  nonce,
});
const par = await oauth.processPushedAuthorizationResponse(
  as,
  client,
  await oauth.pushedAuthorizationRequest(as, client, clientAuth, params, insecure),
);
const authorizationUrl = new URL(as.authorization_endpoint);
authorizationUrl.searchParams.set("client_id", client.client_id);
authorizationUrl.searchParams.set("request_uri", par.request_uri);
out({ authorizationUrl: authorizationUrl.href, requestUri: par.request_uri, expiresIn: par.expires_in });

const lines = readline.createInterface({ input: process.stdin });
const callback = (await lines[Symbol.asyncIterator]().next()).value;
lines.close();

const callbackParams = oauth.validateAuthResponse(as, client, new URL(callback), state);
const tokens = await oauth.processAuthorizationCodeResponse(
  as,
  client,
  await oauth.authorizationCodeGrantRequest(
    as, client, clientAuth, callbackParams, options.redirectUri, codeVerifier, insecure,
  ),
  { expectedNonce: nonce, requireIdToken: true },
);
const claims = oauth.getValidatedIdTokenClaims(tokens);
const userinfo = await oauth.processUserInfoResponse(
  as, client, claims.sub,
  await oauth.userInfoRequest(as, client, tokens.access_token, insecure),
);
const refreshed = await oauth.processRefreshTokenResponse(
  as,
  client,
  await oauth.refreshTokenGrantRequest(as, client, clientAuth, tokens.refresh_token, insecure),
);

out({
  metadata: as,
  claims,
  tokenType: tokens.token_type,
  scope: tokens.scope,
  userinfo,
  refreshed: {
    tokenType: refreshed.token_type,
    scope: refreshed.scope,
    newAccessToken: refreshed.access_token !== tokens.access_token,
    sub: oauth.getValidatedIdTokenClaims(refreshed)?.sub ?? null,
  },
});
