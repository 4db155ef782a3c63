// Drives leadexec.mjs for tests/oauth_clients/test_openid_client.py: JSON lines on stdout,
// the URL the browser was sent back to on stdin.
//   node drive.mjs keygen            -> {publicJwks, privateJwk}
//   node drive.mjs flow '<options>'  -> {authorizationUrl, pending}, reads a line, -> results
import * as readline from "node:readline";
import * as jose from "jose";
import * as le from "./leadexec.mjs";

const out = (value) => process.stdout.write(JSON.stringify(value) + "\n");

// What a refused call threw, for the test to assert on.
async function refusal(promise) {
  try {
    await promise;
    return { refused: false };
  } catch (err) {
    return {
      refused: true,
      name: err.name,
      code: err.code,
      error: err.error,
      status: err.status ?? err.response?.status,
      challenge: err.cause?.[0]
        ? { scheme: err.cause[0].scheme, error: err.cause[0].parameters.error }
        : undefined,
    };
  }
}

async function flow(options) {
  const privateKey = options.privateJwk ? await le.loadPrivateKey(options.privateJwk) : undefined;
  const config = await le.configure({
    issuer: options.issuer,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    privateKey,
  });
  const { url, pending } = await le.startSignIn(config, options.redirectUri);
  out({ authorizationUrl: url, pending });
  const lines = readline.createInterface({ input: process.stdin });
  const callback = (await lines[Symbol.asyncIterator]().next()).value;
  lines.close();

  let tokens;
  try {
    tokens = await le.finishSignIn(config, callback, pending);
  } catch (err) {
    out({ signInRefused: await refusal(Promise.reject(err)) });
    return;
  }
  const claims = tokens.claims();
  const result = {
    metadata: config.serverMetadata(),
    signIn: {
      claims,
      idTokenHeader: jose.decodeProtectedHeader(tokens.id_token),
      tokenType: tokens.token_type,
      scope: tokens.scope,
      expiresIn: tokens.expires_in,
      hasRefreshToken: typeof tokens.refresh_token === "string",
    },
  };
  const refreshed = await le.refresh(config, tokens.refresh_token);
  result.refresh = {
    rotated: refreshed.refresh_token !== tokens.refresh_token,
    accessTokenChanged: refreshed.access_token !== tokens.access_token,
    claims: refreshed.id_token ? refreshed.claims() : null,
    scope: refreshed.scope,
  };
  if (options.retry) {
    // The same refresh token again at once (a lost response, two tabs).
    const again = await le.refresh(config, tokens.refresh_token);
    result.retry = { sameSuccessor: again.refresh_token === refreshed.refresh_token };
  }
  result.userinfo = await le.userInfo(config, refreshed.access_token, claims.sub);
  result.signOutUrl = le.signOutUrl(config, tokens.id_token, options.redirectUri);
  await le.revoke(config, refreshed.refresh_token);
  result.refreshAfterRevoke = await refusal(le.refresh(config, refreshed.refresh_token));
  result.userinfoAfterRevoke = await refusal(
    le.userInfo(config, refreshed.access_token, claims.sub),
  );
  out(result);
}

const [command, options] = process.argv.slice(2);
if (command === "keygen") {
  out(await le.generateClientKeys());
} else if (command === "flow") {
  await flow(JSON.parse(options));
} else {
  throw new Error(`unknown command ${command}`);
}
