'use strict';
// Small HTTP helpers shared by the route modules: bodies with a cap, JSON and error answers.

const http = require('node:http');

const BODY_CAP = 1024 * 1024;

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// A route's answer with a status other than 200 (routes return plain objects for 200).
class Reply {
  constructor(status, body) {
    this.status = status;
    this.body = body;
  }
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > BODY_CAP) {
        reject(new HttpError(413, 'request body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

// The body as a JSON object ({} when empty); HttpError 400 when it is not a JSON object.
async function readJson(req) {
  const text = await readBody(req);
  if (text.trim() === '') return {};
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'malformed JSON body');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new HttpError(400, 'the body must be a JSON object');
  }
  return value;
}

// Form fields from an application/x-www-form-urlencoded body merged over the query string.
async function readForm(req, url) {
  const fields = Object.fromEntries(url.searchParams);
  const text = await readBody(req);
  if (text) Object.assign(fields, Object.fromEntries(new URLSearchParams(text)));
  return fields;
}

function sendJson(res, status, value, headers = {}) {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

function sendHtml(res, status, html, headers = {}) {
  res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': Buffer.byteLength(html), ...headers });
  res.end(html);
}

function sendEmpty(res, status, headers = {}) {
  res.writeHead(status, { 'Content-Length': 0, ...headers });
  res.end();
}

// Helix's error body: {"error":"Bad Request","status":400,"message":"…"}.
function helixError(res, status, message, headers = {}) {
  sendJson(res, status, { error: http.STATUS_CODES[status], status, message }, headers);
}

const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

module.exports = { HttpError, Reply, readJson, readForm, sendJson, sendHtml, sendEmpty, helixError, escapeHtml };
