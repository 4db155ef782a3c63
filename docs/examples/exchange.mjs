// Trade the refresh token for a 1-hour access token, then call the LeadExec API with it.
// Node 18 or later (global fetch).
const base = process.env.LEADEXEC_URL;

async function exchange(appId, appSecret, refreshToken) {
  const form = new URLSearchParams({ appId, refreshToken });
  if (appSecret) form.set("appSecret", appSecret);
  const response = await fetch(`${base}/api/token`, { method: "POST", body: form });
  return response.json(); // 4xx and 5xx answers have the same JSON shape
}

const answer = await exchange(
  process.env.LEADEXEC_APP_ID,
  process.env.LEADEXEC_APP_SECRET ?? "",
  process.env.LEADEXEC_REFRESH_TOKEN,
);
if (!answer.valid) {
  console.error(`exchange refused: ${answer.error}: ${answer.errorMessage}`);
  process.exit(1);
}
const me = await fetch(`${base}/api/v1/me`, {
  headers: { Authorization: `Bearer ${answer.authToken}` },
});
console.log(JSON.stringify(await me.json()));
