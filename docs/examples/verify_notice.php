<?php
// Check a disconnect notice before acting on it: the Ed25519 signature over `t.body` with the
// key its `kid` names, and a timestamp no older than five minutes. PHP 8 with sodium (bundled).
// Pass the raw request body (file_get_contents('php://input')) and the LeadExec-Signature
// header; cache the key set and fetch it again for a kid you lack.
const MAX_AGE = 300;

function b64url(string $text): string {
    return base64_decode(strtr($text, '-_', '+/') . str_repeat('=', (4 - strlen($text) % 4) % 4), true) ?: '';
}

function verify_notice(string $body, string $header, array $keys): array {
    $fields = [];
    foreach (explode(',', $header) as $part) {
        [$name, $value] = array_pad(explode('=', $part, 2), 2, '');
        $fields[$name] = $value;
    }
    if (abs(time() - (int) ($fields['t'] ?? 0)) > MAX_AGE) {
        throw new RuntimeException('stale or missing timestamp');
    }
    $matching = array_values(array_filter($keys, fn ($k) => ($k['kid'] ?? null) === ($fields['kid'] ?? '')));
    if (!$matching) {
        throw new RuntimeException('unknown key');
    }
    $public = b64url($matching[0]['x']);
    $signature = b64url($fields['ed25519'] ?? '');
    if (strlen($public) !== SODIUM_CRYPTO_SIGN_PUBLICKEYBYTES
        || strlen($signature) !== SODIUM_CRYPTO_SIGN_BYTES
        || !sodium_crypto_sign_verify_detached($signature, $fields['t'] . '.' . $body, $public)) {
        throw new RuntimeException('bad signature');
    }
    return json_decode($body, true, 16, JSON_THROW_ON_ERROR);
}

$keys = json_decode(file_get_contents(getenv('LEADEXEC_URL') . '/signin/keys'), true)['keys'];
try {
    $notice = verify_notice(file_get_contents('php://stdin'), getenv('LEADEXEC_SIGNATURE') ?: '', $keys);
} catch (RuntimeException $refused) {
    fwrite(STDERR, "rejected: {$refused->getMessage()}\n");
    exit(1);
}
// Forget the grant's tokens for $notice['userId']; $notice['id'] is the same on a retry.
echo json_encode($notice), "\n";
