// Sign in with LeadExec from a single-page app, with oidc-client-ts v3 (npm install
// oidc-client-ts, or its browser bundle dist/browser/oidc-client-ts.min.js, which defines oidc).
const LEADEXEC = "https://signin.leadexec.com";
const CLIENT_ID = "YOUR_CLIENT_ID"; // your application's client_id (app_...)

const userManager = new oidc.UserManager({
  authority: LEADEXEC,
  client_id: CLIENT_ID,
  redirect_uri: `${location.origin}/`, // registered as a redirect URI
  post_logout_redirect_uri: `${location.origin}/`, // registered as a post-logout redirect URI
  // offline_access brings a refresh token: signinSilent() renews with it, with no iframe and
  // so no third-party cookie. PKCE (S256), state and nonce are automatic.
  scope: "openid profile email offline_access",
  loadUserInfo: true,
  revokeTokensOnSignout: true,
});

function show(user) {
  document.getElementById("signed-out").hidden = Boolean(user);
  document.getElementById("signed-in").hidden = !user;
  if (user) {
    document.getElementById("name").textContent = user.profile.name;
    document.getElementById("email").textContent = user.profile.email;
  }
}

function fail(err) {
  document.getElementById("error").textContent = `${err.name}: ${err.message}`;
}

// For your API calls: the current access token, renewed once it has expired.
async function accessToken() {
  let user = await userManager.getUser();
  if (user && user.expired) {
    user = await userManager.signinSilent();
  }
  return user?.access_token;
}

document.getElementById("sign-in").addEventListener("click", () => {
  userManager.signinRedirect().catch(fail);
});
document.getElementById("renew").addEventListener("click", () => {
  userManager.signinSilent().then(show, fail);
});
document.getElementById("sign-out").addEventListener("click", () => {
  userManager.signoutRedirect().catch(fail);
});

async function start() {
  const back = new URLSearchParams(location.search);
  if (back.has("code") || back.has("error")) {
    // Back from LeadExec: checks state and iss, redeems the code with the PKCE verifier.
    await userManager.signinRedirectCallback().catch(fail);
    history.replaceState(null, "", location.pathname);
  } else if (back.has("state")) {
    await userManager.signoutRedirectCallback().catch(fail); // back from signing out
    history.replaceState(null, "", location.pathname);
  }
  show(await userManager.getUser());
}

start().catch(fail);
