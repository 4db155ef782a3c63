// oauth4webapi (panva's strict OAuth 2 client) naming a resource (RFC 8707), for
// tests/oauth_clients/test_oauth4webapi_resource.py: JSON lines on stdout, the URL the browser
// was sent back to on stdin.
//   node resource.mjs '<options>'  -> {authorizationUrl}, reads a line, -> {results}
// The flow an MCP client takes from nothing but the resource's URL: the resource's RFC 9728
// metadata (the library checks `resource` is the URL asked), the authorization server's RFC
// 8414 metadata, an authorization request with PKCE and `resource`, the code exchanged naming
// the resource again, and the RFC 9068 access token validated as a resource server would
// (signature from the JWKS, typ at+jwt, iss, and `aud` equal to the resource); the same token
// validated for the other resource must fail, and so must its use there; a refresh keeps the
// audience.
import * as readline from "node:readline";
import * as oauth from "oauth4webapi";

const out = (value) => process.stdout.write(JSON.stringify(value) + "\n");
const options = JSON.parse(process.argv[2]);
const insecure = { [oauth.allowInsecureRequests]: true }; // the test provider is http://127.0.0.1

async function refusal(promise) {
  try {
    await promise;
    return { refused: false };
  } catch (err) {
    return { refused: true, name: err.name, code: err.code, message: err.message };
  }
}

const resource = new URL(options.resource);
const prm = await oauth.processResourceDiscoveryResponse(
  resource,
  await oauth.resourceDiscoveryRequest(resource, insecure),
);
const issuer = new URL(prm.authorization_servers[0]);
const as = await oauth.processDiscoveryResponse(
  issuer,
  await oauth.discoveryRequest(issuer, { ...insecure, algorithm: "oauth2" }),
);
const client = { client_id: options.clientId };
const clientAuth = oauth.None();

const codeVerifier = oauth.generateRandomCodeVerifier();
const state = oauth.generateRandomState();
const authorizationUrl = new URL(as.authorization_endpoint);
for (const [name, value] of Object.entries({
  client_id: client.client_id,
  redirect_uri: options.redirectUri,
  response_type: "code",
  scope: "profile email offline_access",
  code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier),
  code_challenge_method: "S256",
  state,
  resource: resource.href,
})) {
  authorizationUrl.searchParams.set(name, value);
}
out({ authorizationUrl: authorizationUrl.href, prm });

const lines = readline.createInterface({ input: process.stdin });
const callback = (await lines[Symbol.asyncIterator]().next()).value;
lines.close();

const callbackParams = oauth.validateAuthResponse(as, client, new URL(callback), state);
const tokens = await oauth.processAuthorizationCodeResponse(
  as,
  client,
  await oauth.authorizationCodeGrantRequest(
    as, client, clientAuth, callbackParams, options.redirectUri, codeVerifier,
    { ...insecure, additionalParameters: { resource: resource.href } },
  ),
);

// As the resource server would: the token in an Authorization header of a request to it.
const asRequest = (url, token) =>
  new Request(url, { headers: { authorization: `Bearer ${token}` } });
const claims = await oauth.validateJwtAccessToken(
  as, asRequest(resource.href, tokens.access_token), resource.href, insecure,
);
const other = new URL(options.otherResource);
const forOther = await refusal(
  oauth.validateJwtAccessToken(as, asRequest(other.href, tokens.access_token), other.href, insecure),
);
const atOther = await fetch(new URL("/api/v1/me", issuer), {
  headers: { authorization: `Bearer ${tokens.access_token}` },
});

const refreshed = await oauth.processRefreshTokenResponse(
  as,
  client,
  await oauth.refreshTokenGrantRequest(as, client, clientAuth, tokens.refresh_token, insecure),
);
const refreshedClaims = await oauth.validateJwtAccessToken(
  as, asRequest(resource.href, refreshed.access_token), resource.href, insecure,
);

out({
  metadata: as,
  tokenType: tokens.token_type,
  scope: tokens.scope,
  claims,
  forOther,
  atOther: { status: atOther.status, challenge: atOther.headers.get("www-authenticate") },
  refreshed: { aud: refreshedClaims.aud, rotated: refreshed.refresh_token !== tokens.refresh_token },
});
