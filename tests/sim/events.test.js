'use strict';
// Events: every subscription type of the digest (§5) is triggered and its event checked against
// the field lists of §6.2 (written out here, independently of the simulator); condition matching;
// trigger validation; streams and follows through the control API.

const test = require('node:test');
const assert = require('node:assert/strict');
const { startSimAlone, WsClient } = require('./harness');

const BC = ['broadcaster_user_id', 'broadcaster_user_login', 'broadcaster_user_name'];
const trio = (p) => [`${p}_id`, `${p}_login`, `${p}_name`];
const USER = trio('user');
const HYPE_RUNNING = ['id', ...BC, 'total', 'progress', 'goal', 'top_contributions', 'level', 'shared_train_participants', 'started_at', 'expires_at', 'type', 'is_shared_train'];
const POLL = ['id', ...BC, 'title', 'choices', 'bits_voting', 'channel_points_voting'];
const NOTICES = ['sub', 'resub', 'sub_gift', 'community_sub_gift', 'gift_paid_upgrade', 'prime_paid_upgrade', 'pay_it_forward', 'raid', 'unraid', 'announcement', 'bits_badge_tier', 'charity_donation'];
const ALL_NOTICES = [...NOTICES, ...NOTICES.map((n) => `shared_chat_${n}`)];
const GOAL = ['id', ...BC, 'type', 'description', 'current_amount', 'target_amount', 'started_at'];
const CHARITY = ['charity_name', 'charity_description', 'charity_logo', 'charity_website'];
const CAMPAIGN_BC = ['broadcaster_id', 'broadcaster_login', 'broadcaster_name'];

const FIELDS = {
  'stream.online': ['id', ...BC, 'type', 'started_at'],
  'stream.offline': BC,
  'channel.update': [...BC, 'title', 'language', 'category_id', 'category_name', 'content_classification_labels'],
  'channel.raid': [...trio('from_broadcaster_user'), ...trio('to_broadcaster_user'), 'viewers'],
  'channel.follow': [...USER, ...BC, 'followed_at'],
  'channel.subscribe': [...USER, ...BC, 'tier', 'is_gift'],
  'channel.subscription.gift': [...USER, ...BC, 'total', 'tier', 'cumulative_total', 'is_anonymous'],
  'channel.subscription.message': [...USER, ...BC, 'tier', 'message', 'cumulative_months', 'streak_months', 'duration_months'],
  'channel.cheer': ['is_anonymous', ...USER, ...BC, 'message', 'bits'],
  'channel.channel_points_custom_reward_redemption.add': ['id', ...BC, ...USER, 'user_input', 'status', 'reward', 'redeemed_at'],
  'channel.hype_train.begin': [...HYPE_RUNNING, 'all_time_high_level', 'all_time_high_total'],
  'channel.hype_train.progress': HYPE_RUNNING,
  'channel.hype_train.end': ['id', ...BC, 'total', 'top_contributions', 'level', 'shared_train_participants', 'started_at', 'ended_at', 'cooldown_ends_at', 'type', 'is_shared_train'],
  'channel.poll.begin': [...POLL, 'started_at', 'ends_at'],
  'channel.poll.progress': [...POLL, 'started_at', 'ends_at'],
  'channel.poll.end': [...POLL, 'status', 'started_at', 'ended_at'],
  'channel.prediction.begin': ['id', ...BC, 'title', 'outcomes', 'started_at', 'locks_at'],
  'channel.prediction.progress': ['id', ...BC, 'title', 'outcomes', 'started_at', 'locks_at'],
  'channel.prediction.lock': ['id', ...BC, 'title', 'outcomes', 'started_at', 'locked_at'],
  'channel.prediction.end': ['id', ...BC, 'title', 'winning_outcome_id', 'outcomes', 'status', 'started_at', 'ended_at'],
  'channel.ban': [...USER, ...BC, ...trio('moderator_user'), 'reason', 'banned_at', 'ends_at', 'is_permanent'],
  'channel.chat.message': [...BC, ...trio('chatter_user'), 'message_id', 'message', 'message_type', 'badges', 'cheer', 'color', 'reply',
    'channel_points_custom_reward_id', ...trio('source_broadcaster_user'), 'source_message_id', 'source_badges', 'is_source_only'],
  'channel.chat.notification': [...BC, ...trio('chatter_user'), 'chatter_is_anonymous', 'color', 'badges', 'system_message', 'message_id',
    'message', 'notice_type', ...ALL_NOTICES, ...trio('source_broadcaster_user'), 'source_message_id', 'source_badges'],
  // types added in 2024-2025 (the reference's field tables)
  'channel.bits.use': [...USER, ...BC, 'bits', 'type', 'message', 'power_up'],
  'channel.channel_points_automatic_reward_redemption.add': [...BC, ...USER, 'id', 'reward', 'message', 'redeemed_at'],
  'channel.shared_chat.begin': ['session_id', ...BC, ...trio('host_broadcaster_user'), 'participants'],
  'channel.shared_chat.update': ['session_id', ...BC, ...trio('host_broadcaster_user'), 'participants'],
  'channel.shared_chat.end': ['session_id', ...BC, ...trio('host_broadcaster_user')],
  'channel.goal.begin': GOAL,
  'channel.goal.progress': GOAL,
  'channel.goal.end': [...GOAL, 'is_achieved', 'ended_at'],
  'channel.charity_campaign.donate': ['id', 'campaign_id', ...BC, ...USER, ...CHARITY, 'amount'],
  'channel.charity_campaign.start': ['id', ...CAMPAIGN_BC, ...CHARITY, 'current_amount', 'target_amount', 'started_at'],
  'channel.charity_campaign.progress': ['id', ...CAMPAIGN_BC, ...CHARITY, 'current_amount', 'target_amount'],
  'channel.charity_campaign.stop': ['id', ...CAMPAIGN_BC, ...CHARITY, 'current_amount', 'target_amount', 'stopped_at'],
  'channel.ad_break.begin': ['duration_seconds', 'started_at', 'is_automatic', ...BC, ...trio('requester_user')],
  'channel.shoutout.create': [...BC, ...trio('moderator_user'), ...trio('to_broadcaster_user'), 'started_at', 'viewer_count', 'cooldown_ends_at', 'target_cooldown_ends_at'],
  'channel.shoutout.receive': [...BC, ...trio('from_broadcaster_user'), 'viewer_count', 'started_at'],
};
const VERSIONS = { 'channel.channel_points_automatic_reward_redemption.add': '2', 'channel.update': '2', 'channel.follow': '2', 'channel.hype_train.begin': '2', 'channel.hype_train.progress': '2', 'channel.hype_train.end': '2' };
const NOTICE_FIELDS = {
  sub: ['sub_tier', 'is_prime', 'duration_months'],
  resub: ['cumulative_months', 'duration_months', 'streak_months', 'sub_tier', 'is_prime', 'is_gift', 'gifter_is_anonymous', 'gifter_user_id', 'gifter_user_name', 'gifter_user_login'],
  sub_gift: ['duration_months', 'cumulative_total', 'recipient_user_id', 'recipient_user_name', 'recipient_user_login', 'sub_tier', 'community_gift_id'],
  community_sub_gift: ['id', 'total', 'sub_tier', 'cumulative_total'],
  gift_paid_upgrade: ['gifter_is_anonymous', 'gifter_user_id', 'gifter_user_name'],
  prime_paid_upgrade: ['sub_tier'],
  pay_it_forward: ['gifter_is_anonymous', 'gifter_user_id', 'gifter_user_name', 'gifter_user_login'],
  raid: ['user_id', 'user_name', 'user_login', 'viewer_count', 'profile_image_url'],
  unraid: [],
  announcement: ['color'],
  bits_badge_tier: ['tier'],
  charity_donation: ['charity_name', 'amount'],
};
const SCOPES = ['moderator:read:followers', 'channel:read:subscriptions', 'bits:read', 'channel:read:redemptions', 'channel:read:hype_train',
  'channel:read:polls', 'channel:read:predictions', 'channel:moderate', 'user:read:chat', 'channel:read:goals', 'channel:read:charity',
  'channel:read:ads', 'moderator:read:shoutouts'];

let sim;
let socket;
let streamer;

function conditionFor(type) {
  if (type === 'channel.raid') return { to_broadcaster_user_id: streamer.id };
  if (type === 'channel.follow' || type.startsWith('channel.shoutout.')) return { broadcaster_user_id: streamer.id, moderator_user_id: streamer.id };
  if (type.startsWith('channel.chat.')) return { broadcaster_user_id: streamer.id, user_id: streamer.id };
  return { broadcaster_user_id: streamer.id };
}

test.before(async () => {
  sim = await startSimAlone();
  streamer = await sim.createUser('evstreamer');
  await sim.createUser('evfan');
  await sim.createUser('evraider');
  const token = (await sim.userToken('evstreamer', SCOPES)).access_token;
  socket = await WsClient.connect(sim.wsUrl());
  for (const type of Object.keys(FIELDS)) {
    const r = await sim.subscribe(token, type, VERSIONS[type] ?? '1', conditionFor(type), { method: 'websocket', session_id: socket.sessionId });
    assert.equal(r.status, 202, `${type}: ${r.text}`);
  }
});
test.after(() => {
  socket.close();
  sim.stop();
});

async function trigger(body) {
  const r = await sim.control('POST', '/trigger', { broadcaster: 'evstreamer', ...body });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.delivered, 1, `${body.type} delivered once`);
  return (await socket.next('notification', (m) => m.metadata.message_id === r.json.message_ids[0])).payload.event;
}

for (const type of Object.keys(FIELDS)) {
  test(`${type}: the event has exactly the documented fields`, async () => {
    const actor = type.startsWith('stream.') || type === 'channel.update' ? {} : { user: type === 'channel.raid' || type.startsWith('channel.shoutout.') ? 'evraider' : 'evfan' };
    const event = await trigger({ type, ...actor });
    assert.deepEqual(Object.keys(event).sort(), [...FIELDS[type]].sort());
    for (const [k, v] of Object.entries(event)) {
      if (/(^|_)id$/.test(k) && v !== null) assert.equal(typeof v, 'string', `${k} is a string`);
      if (/_at$/.test(k) && v !== null) assert.ok(!Number.isNaN(Date.parse(v)), `${k} is a timestamp`);
    }
    assert.equal(event.broadcaster_user_id ?? event.broadcaster_id ?? event.to_broadcaster_user_id, streamer.id);
  });
}

test('channel.bits.use: a cheer, a Power-up and a Combo, each as the reference shapes it', async () => {
  const cheer = await trigger({ type: 'channel.bits.use', user: 'evfan', bits_type: 'cheer', bits: 100 });
  assert.equal(cheer.type, 'cheer');
  assert.equal(cheer.power_up, null);
  assert.match(cheer.message.text, /^Cheer100 /);
  assert.equal(cheer.message.fragments[0].type, 'cheermote');
  const power = await trigger({ type: 'channel.bits.use', user: 'evfan', bits_type: 'power_up' });
  assert.equal(power.message, null);
  assert.ok(['message_effect', 'celebration', 'gigantify_an_emote'].includes(power.power_up.type));
  const combo = await trigger({ type: 'channel.bits.use', user: 'evfan', bits_type: 'combo' });
  assert.equal(combo.type, 'combo');
  const bad = await sim.control('POST', '/trigger', { broadcaster: 'evstreamer', type: 'channel.bits.use', bits_type: 'tip' });
  assert.equal(bad.status, 400);
});

test('a goal and a charity campaign keep their id from start to end', async () => {
  const begin = await trigger({ type: 'channel.goal.begin' });
  const progress = await trigger({ type: 'channel.goal.progress' });
  const end = await trigger({ type: 'channel.goal.end' });
  assert.equal(progress.id, begin.id);
  assert.equal(end.id, begin.id);
  assert.equal(typeof end.is_achieved, 'boolean');
  const start = await trigger({ type: 'channel.charity_campaign.start' });
  const donation = await trigger({ type: 'channel.charity_campaign.donate', user: 'evfan', total: 2500 });
  const stop = await trigger({ type: 'channel.charity_campaign.stop' });
  assert.equal(donation.campaign_id, start.id);
  assert.equal(stop.id, start.id);
  assert.deepEqual(donation.amount, { value: 2500, decimal_places: 2, currency: 'USD' });
  assert.ok(stop.current_amount.value >= 2500);
});

test('channel.chat.notification: every notice type fills only its own object', async () => {
  for (const notice of [...NOTICES, 'shared_chat_sub', 'shared_chat_raid', 'shared_chat_announcement']) {
    const event = await trigger({ type: 'channel.chat.notification', user: 'evfan', notice_type: notice });
    assert.equal(event.notice_type, notice);
    const kind = notice.replace(/^shared_chat_/, '');
    assert.deepEqual(Object.keys(event[notice]).sort(), [...NOTICE_FIELDS[kind]].sort(), notice);
    for (const other of ALL_NOTICES.filter((n) => n !== notice)) assert.equal(event[other], null, `${other} is null for ${notice}`);
    assert.equal(event.source_broadcaster_user_id !== null, notice.startsWith('shared_chat_'));
    assert.equal(typeof event.system_message, 'string');
  }
  const resub = await trigger({ type: 'channel.chat.notification', user: 'evfan', notice_type: 'resub', tier: '2000', message: 'ten months!' });
  assert.equal(resub.resub.sub_tier, '2000');
  assert.equal(resub.message.text, 'ten months!');
  const gift = await trigger({ type: 'channel.chat.notification', user: 'evfan', notice_type: 'community_sub_gift', total: 10, anonymous: true });
  assert.equal(gift.community_sub_gift.total, 10);
  assert.equal(gift.chatter_is_anonymous, true);
  assert.equal(gift.chatter_user_id, null);
  const raid = await trigger({ type: 'channel.chat.notification', user: 'evraider', notice_type: 'raid', viewers: 321 });
  assert.equal(raid.raid.viewer_count, 321);
  assert.equal(raid.raid.user_login, 'evraider');
});

test('chat message with a cheer: cheer object and a cheermote fragment', async () => {
  const event = await trigger({ type: 'channel.chat.message', user: 'evfan', bits: 100, message: 'great run Kappa' });
  assert.deepEqual(event.cheer, { bits: 100 });
  assert.equal(event.chatter_user_login, 'evfan');
  const cheermote = event.message.fragments.find((f) => f.type === 'cheermote');
  assert.equal(cheermote.cheermote.bits, 100);
  assert.ok(event.message.fragments.some((f) => f.type === 'emote' && f.text === 'Kappa'));
  assert.equal(event.message.fragments.map((f) => f.text).join(''), event.message.text);
  for (const f of event.message.fragments) assert.deepEqual(Object.keys(f).sort(), ['cheermote', 'emote', 'mention', 'text', 'type']);
});

test('trigger options shape the event; anonymous cheers and gifts have null users', async () => {
  const cheer = await trigger({ type: 'channel.cheer', anonymous: true, bits: 42 });
  assert.equal(cheer.is_anonymous, true);
  assert.equal(cheer.user_id, null);
  assert.equal(cheer.bits, 42);
  const gift = await trigger({ type: 'channel.subscription.gift', user: 'evfan', total: 7, tier: 3 });
  assert.equal(gift.total, 7);
  assert.equal(gift.tier, '3000');
  assert.equal(gift.is_anonymous, false);
  const update = await trigger({ type: 'channel.update', title: 'new title', category_name: 'VALORANT' });
  assert.equal(update.title, 'new title');
  assert.equal(update.category_id, '516575');
  const raid = await trigger({ type: 'channel.raid', user: 'evraider', viewers: 99 });
  assert.equal(raid.from_broadcaster_user_login, 'evraider');
  assert.equal(raid.viewers, 99);
});

test('hype trains, polls and predictions keep their id from begin to end', async () => {
  for (const [family, phases] of [['channel.hype_train', ['begin', 'progress', 'end']], ['channel.poll', ['begin', 'progress', 'end']], ['channel.prediction', ['begin', 'progress', 'lock', 'end']]]) {
    const ids = [];
    for (const phase of phases) ids.push((await trigger({ type: `${family}.${phase}`, user: 'evfan' })).id);
    assert.equal(new Set(ids).size, 1, family);
  }
});

test('trigger validation: unknown fields, types, users and bad values are 400/404', async () => {
  const bad = [
    [{ type: 'channel.cheer', broadcaster: 'evstreamer', colour: 'red' }, 400],
    [{ type: 'channel.nope', broadcaster: 'evstreamer' }, 400],
    [{ type: 'channel.cheer', broadcaster: 'nobody' }, 404],
    [{ type: 'channel.cheer' }, 400],
    [{ type: 'channel.cheer', broadcaster: 'evstreamer', bits: 'lots' }, 400],
    [{ type: 'channel.chat.notification', broadcaster: 'evstreamer', notice_type: 'party' }, 400],
    [{ type: 'channel.subscribe', broadcaster: 'evstreamer', tier: '4000' }, 400],
  ];
  for (const [body, status] of bad) {
    const r = await sim.control('POST', '/trigger', body);
    assert.equal(r.status, status, JSON.stringify(body));
    assert.ok(r.json.error);
  }
});

test('only matching conditions receive: another broadcaster, a raid in the other direction', async () => {
  const r = await sim.control('POST', '/trigger', { type: 'channel.cheer', broadcaster: 'evfan' });
  assert.deepEqual(r.json, { delivered: 0, message_ids: [] });
  const out = await sim.control('POST', '/trigger', { type: 'channel.raid', broadcaster: 'evraider', user: 'evstreamer' });
  assert.equal(out.json.delivered, 0, 'the subscription is for incoming raids');
});

test('/sim/streams emits stream.online/offline and channel.update; Helix follows', async () => {
  const on = await sim.control('POST', '/streams/evstreamer', { live: true, title: 'going live', game_name: 'Art' });
  assert.equal(on.json.live, true);
  assert.equal(on.json.delivered, 2);
  const [update, online] = await Promise.all(on.json.message_ids.map((id) => socket.next('notification', (m) => m.metadata.message_id === id)));
  assert.equal(update.metadata.subscription_type, 'channel.update');
  assert.equal(update.payload.event.category_name, 'Art');
  assert.equal(online.metadata.subscription_type, 'stream.online');
  const app = await sim.appToken();
  const streams = await sim.helix(app, 'GET', '/streams?user_login=evstreamer');
  assert.equal(streams.json.data[0].title, 'going live');
  assert.equal(online.payload.event.id, streams.json.data[0].id);
  // EventSub: nanoseconds; Helix: whole seconds; the same second
  assert.match(online.payload.event.started_at, /\.\d{9}Z$/);
  assert.equal(online.payload.event.started_at.replace(/\.\d+Z$/, 'Z'), streams.json.data[0].started_at);
  const off = await sim.control('POST', '/streams/evstreamer', { live: false });
  assert.equal(off.json.delivered, 1);
  assert.deepEqual((await sim.helix(app, 'GET', '/streams?user_login=evstreamer')).json.data, []);
});

test('/sim/follows records the follow and emits channel.follow with its followed_at', async () => {
  const r = await sim.control('POST', '/follows', { user: 'evraider', broadcaster: 'evstreamer' });
  assert.equal(r.status, 201);
  assert.equal(r.json.delivered, 1);
  const n = await socket.next('notification', (m) => m.metadata.message_id === r.json.message_ids[0]);
  assert.equal(n.payload.event.user_login, 'evraider');
  assert.equal(n.payload.event.followed_at, r.json.followed_at);
  // EventSub writes nanoseconds; Helix lists the same follow in whole seconds, the same second
  assert.match(n.payload.event.followed_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
  const again = await sim.control('POST', '/follows', { user: 'evraider', broadcaster: 'evstreamer' });
  assert.equal(again.json.delivered, 0);
  assert.equal(again.json.followed_at, n.payload.event.followed_at.replace(/\.\d+Z$/, 'Z'));
});
