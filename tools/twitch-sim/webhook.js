'use strict';
// Webhook delivery: the callback verification challenge, signed notifications with retries
// (same message id), revocation after repeated failures, and revocation messages.

const crypto = require('node:crypto');
const http = require('node:http');
const https = require('node:https');
const rand = require('./random');

const RESPONSE_CAP = 64 * 1024;

// "sha256=" + lowercase hex HMAC-SHA256(secret, message id + timestamp + raw body).
function signature(secret, messageId, timestamp, body) {
  return 'sha256=' + crypto.createHmac('sha256', secret).update(messageId + timestamp + body).digest('hex');
}

class Webhook {
  constructor(sim) {
    this.sim = sim;
  }

  get config() {
    return this.sim.config;
  }

  // One POST to the subscription's callback. Resolves {status, contentType, body, error}.
  post(sub, { messageId, messageType, timestamp, body, retry }) {
    const url = new URL(sub.transport.callback);
    const plain = url.protocol === 'http:' || this.config.webhookPlainHttp;
    const headers = {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(body),
      'Twitch-Eventsub-Message-Id': messageId,
      'Twitch-Eventsub-Message-Retry': String(retry),
      'Twitch-Eventsub-Message-Type': messageType,
      'Twitch-Eventsub-Message-Signature': signature(sub.transport.secret, messageId, timestamp, body),
      'Twitch-Eventsub-Message-Timestamp': timestamp,
      'Twitch-Eventsub-Subscription-Type': sub.type,
      'Twitch-Eventsub-Subscription-Version': sub.version,
    };
    const options = {
      method: 'POST', hostname: url.hostname.replace(/^\[|\]$/g, ''), port: url.port || (url.protocol === 'https:' ? 443 : 80),
      path: url.pathname + url.search, headers, family: url.hostname.startsWith('[') ? 6 : 4, agent: false,
    };
    return new Promise((resolve) => {
      const started = Date.now();
      const done = (result) => {
        clearTimeout(timer);
        resolve({ duration_ms: Date.now() - started, ...result });
      };
      const req = (plain ? http : https).request(options, (res) => {
        const chunks = [];
        let size = 0;
        res.on('data', (c) => {
          if (size < RESPONSE_CAP) chunks.push(c);
          size += c.length;
        });
        res.on('end', () => done({ status: res.statusCode, contentType: res.headers['content-type'] ?? null, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (e) => done({ status: null, error: e.message }));
      });
      const timer = setTimeout(() => {
        req.destroy();
        done({ status: null, error: 'timeout' });
      }, this.config.webhookTimeout * 1000);
      req.on('error', (e) => done({ status: null, error: e.code || e.message }));
      req.end(body);
    });
  }

  record(sub, message, result, extra = {}) {
    this.sim.state.recordDelivery({
      transport: 'webhook', target: sub.transport.callback, subscription_id: sub.id, subscription_type: sub.type,
      message_id: message.messageId, message_type: message.messageType, retry: message.retry,
      status: result.status, content_type: result.contentType ?? null, response: (result.body ?? '').slice(0, 200),
      error: result.error ?? null, duration_ms: result.duration_ms, ...extra,
    });
  }

  message(messageType, payload, messageId = rand.uuid()) {
    return { messageId, messageType, timestamp: this.sim.state.timestamp(), body: JSON.stringify(payload), retry: 0 };
  }

  // The challenge: 200 with the challenge verbatim as text/plain enables the subscription;
  // anything else fails it (--lenient-challenge accepts any Content-Type).
  async verify(sub) {
    const challenge = rand.token(8) + '-' + rand.token(8) + '-' + rand.token(8);
    const message = this.message('webhook_callback_verification', { challenge, subscription: this.sim.eventsub.json(sub, 'message') });
    const result = await this.post(sub, message);
    const typeOk = this.config.lenientChallenge || /^text\/plain\b/i.test(result.contentType ?? '');
    const ok = result.status === 200 && result.body === challenge && typeOk;
    this.record(sub, message, result, { outcome: ok ? 'verified' : 'verification_failed' });
    if (this.sim.state.subscriptions.get(sub.id) !== sub || sub.status !== 'webhook_callback_verification_pending') return;
    sub.status = ok ? 'enabled' : 'webhook_callback_verification_failed';
    this.sim.log.info('webhook verification', { id: sub.id, type: sub.type, status: sub.status, http_status: result.status, error: result.error });
  }

  // A notification, retried with the same message id (and body) while the receiver fails.
  notify(sub, messageId, event) {
    const message = this.message('notification', { subscription: this.sim.eventsub.json(sub, 'message'), event }, messageId);
    this.attempt(sub, message);
  }

  async attempt(sub, message) {
    if (this.sim.state.subscriptions.get(sub.id) !== sub || sub.status !== 'enabled') return;
    const result = await this.post(sub, message);
    const ok = result.status !== null && result.status >= 200 && result.status < 300;
    this.record(sub, message, result, { outcome: ok ? 'delivered' : 'failed' });
    if (ok) {
      sub.failures = 0;
      return;
    }
    sub.failures++;
    this.sim.log.warn('webhook delivery failed', { id: sub.id, type: sub.type, retry: message.retry, http_status: result.status, error: result.error });
    if (sub.status !== 'enabled') return;
    if (sub.failures >= this.config.webhookFailureLimit) {
      this.sim.eventsub.revoke(sub, 'notification_failures_exceeded');
      return;
    }
    if (message.retry >= this.config.webhookRetries) return;
    const delay = this.config.webhookRetryDelay * 1000 * 2 ** message.retry;
    setTimeout(() => this.attempt(sub, { ...message, retry: message.retry + 1 }), delay);
  }

  // Sent once; the receiver's answer is only recorded.
  async revocation(sub) {
    const message = this.message('revocation', { subscription: this.sim.eventsub.json(sub, 'message') });
    this.record(sub, message, await this.post(sub, message), { outcome: 'revocation' });
  }
}

module.exports = { Webhook, signature };
