<?php
// Trade the refresh token for a 1-hour access token, then call the LeadExec API with it.
// PHP 8 without extensions beyond the defaults (json, openssl for https).
$base = getenv('LEADEXEC_URL');

function call(string $url, array $http): array {
    $http['ignore_errors'] = true; // 4xx and 5xx answers have the same JSON shape
    $body = file_get_contents($url, false, stream_context_create(['http' => $http]));
    return json_decode($body, true, 16, JSON_THROW_ON_ERROR);
}

$form = ['appId' => getenv('LEADEXEC_APP_ID'), 'refreshToken' => getenv('LEADEXEC_REFRESH_TOKEN')];
if (getenv('LEADEXEC_APP_SECRET')) {
    $form['appSecret'] = getenv('LEADEXEC_APP_SECRET');
}
$answer = call("$base/api/token", [
    'method' => 'POST',
    'header' => 'Content-Type: application/x-www-form-urlencoded',
    'content' => http_build_query($form),
]);
if (!$answer['valid']) {
    fwrite(STDERR, "exchange refused: {$answer['error']}: {$answer['errorMessage']}\n");
    exit(1);
}
$me = call("$base/api/v1/me", ['header' => "Authorization: Bearer {$answer['authToken']}"]);
echo json_encode($me), "\n";
