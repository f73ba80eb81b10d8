<?php
// The seeds' stack as a benchmark peer: a Twitch EventSub webhook receiver written the way
// the original solutions were — Slim 3 (Debian php-slim) on php-fpm behind nginx. It checks
// the HMAC over id + timestamp + body in constant time, rejects old timestamps, answers the
// challenge, and stores each notification once (by message id) in SQLite (WAL,
// synchronous=FULL: durable before the 204, as SEV is). It pushes nothing live.
// Environment (from the php-fpm pool): SEV_BENCH_SECRET, SEV_BENCH_DB.
require 'Slim/autoload.php';

function db(): PDO
{
    static $pdo = null;
    if ($pdo === null) {
        $pdo = new PDO('sqlite:' . getenv('SEV_BENCH_DB'), null, null, [
            PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION,
            PDO::ATTR_PERSISTENT => true,
        ]);
        $pdo->exec('PRAGMA busy_timeout = 5000');
        $pdo->exec('PRAGMA journal_mode = WAL');
        $pdo->exec('PRAGMA synchronous = FULL');
        $pdo->exec('CREATE TABLE IF NOT EXISTS events (id TEXT PRIMARY KEY, type TEXT NOT NULL,
                    broadcaster_id TEXT NOT NULL, created_at TEXT NOT NULL, data TEXT NOT NULL)');
    }
    return $pdo;
}

$app = new Slim\App();

$app->post('/eventsub/webhook', function ($request, $response) {
    $id = $request->getHeaderLine('Twitch-Eventsub-Message-Id');
    $ts = $request->getHeaderLine('Twitch-Eventsub-Message-Timestamp');
    $sig = $request->getHeaderLine('Twitch-Eventsub-Message-Signature');
    $body = (string)$request->getBody();
    $mac = 'sha256=' . hash_hmac('sha256', $id . $ts . $body, getenv('SEV_BENCH_SECRET'));
    if ($id === '' || !hash_equals($mac, $sig)) {
        return $response->withStatus(403);
    }
    $when = strtotime($ts);
    if ($when === false || abs(time() - $when) > 600) {
        return $response->withStatus(403);
    }
    $msg = json_decode($body, true);
    if (!is_array($msg)) {
        return $response->withStatus(400);
    }
    $type = $request->getHeaderLine('Twitch-Eventsub-Message-Type');
    if ($type === 'webhook_callback_verification') {
        $response->getBody()->write((string)$msg['challenge']);
        return $response->withHeader('Content-Type', 'text/plain');
    }
    if ($type === 'notification') {
        $ev = $msg['event'] ?? [];
        $st = db()->prepare('INSERT OR IGNORE INTO events (id, type, broadcaster_id, created_at, data)
                             VALUES (?, ?, ?, ?, ?)');
        $st->execute([$id, $msg['subscription']['type'] ?? '', $ev['broadcaster_user_id'] ?? '',
                      $ts, json_encode($ev)]);
    }
    return $response->withStatus(204);
});

// For the benchmark's log: that the opcode cache served this run (it must, to be honest).
$app->get('/opcache', function ($request, $response) {
    $st = function_exists('opcache_get_status') ? opcache_get_status(false) : false;
    return $response->withJson([
        'enabled' => is_array($st) && !empty($st['opcache_enabled']),
        'hits' => is_array($st) ? $st['opcache_statistics']['hits'] : 0,
        'misses' => is_array($st) ? $st['opcache_statistics']['misses'] : 0,
        'cached_scripts' => is_array($st) ? $st['opcache_statistics']['num_cached_scripts'] : 0,
    ]);
});

$app->run();
