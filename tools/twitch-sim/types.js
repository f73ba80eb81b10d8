'use strict';
// The EventSub subscription types the simulator knows: current version, removed versions (410),
// condition fields, and whose authorization (which scopes) a subscription needs.
//
// auth.user names the condition field of the user who must have authorized the client with one
// of auth.scopes. auth.moderator: that user may be the broadcaster or one of their moderators.
// auth.chat: the chat rules (user:read:chat from user_id; with an app token also user:bot from
// user_id and channel:bot from the broadcaster unless user_id moderates the channel).

const broadcasterOnly = { required: ['broadcaster_user_id'] };
const byBroadcaster = (...scopes) => ({ user: 'broadcaster_user_id', scopes });

const TYPES = {
  'stream.online': { version: '1', condition: broadcasterOnly },
  'stream.offline': { version: '1', condition: broadcasterOnly },
  'channel.update': { version: '2', condition: broadcasterOnly },
  'channel.raid': {
    version: '1',
    condition: { required: [], oneOf: ['from_broadcaster_user_id', 'to_broadcaster_user_id'] },
  },
  'channel.follow': {
    version: '2', removed: ['1'],
    condition: { required: ['broadcaster_user_id', 'moderator_user_id'] },
    auth: { user: 'moderator_user_id', scopes: ['moderator:read:followers'], moderator: true },
  },
  'channel.subscribe': { version: '1', condition: broadcasterOnly, auth: byBroadcaster('channel:read:subscriptions') },
  'channel.subscription.gift': { version: '1', condition: broadcasterOnly, auth: byBroadcaster('channel:read:subscriptions') },
  'channel.subscription.message': { version: '1', condition: broadcasterOnly, auth: byBroadcaster('channel:read:subscriptions') },
  'channel.cheer': { version: '1', condition: broadcasterOnly, auth: byBroadcaster('bits:read') },
  'channel.channel_points_custom_reward_redemption.add': {
    version: '1',
    condition: { required: ['broadcaster_user_id'], optional: ['reward_id'] },
    auth: byBroadcaster('channel:read:redemptions', 'channel:manage:redemptions'),
  },
  'channel.ban': { version: '1', condition: broadcasterOnly, auth: byBroadcaster('channel:moderate') },
  'channel.bits.use': { version: '1', condition: broadcasterOnly, auth: byBroadcaster('bits:read') },
  'channel.channel_points_automatic_reward_redemption.add': {
    version: '2', older: ['1'], condition: broadcasterOnly,
    auth: byBroadcaster('channel:read:redemptions', 'channel:manage:redemptions'),
  },
  'channel.ad_break.begin': { version: '1', condition: broadcasterOnly, auth: byBroadcaster('channel:read:ads') },
  'channel.shoutout.create': {
    version: '1', condition: { required: ['broadcaster_user_id', 'moderator_user_id'] },
    auth: { user: 'moderator_user_id', scopes: ['moderator:read:shoutouts', 'moderator:manage:shoutouts'], moderator: true },
  },
  'channel.shoutout.receive': {
    version: '1', condition: { required: ['broadcaster_user_id', 'moderator_user_id'] },
    auth: { user: 'moderator_user_id', scopes: ['moderator:read:shoutouts', 'moderator:manage:shoutouts'], moderator: true },
  },
  'channel.chat.message': {
    version: '1',
    condition: { required: ['broadcaster_user_id', 'user_id'] },
    auth: { user: 'user_id', scopes: ['user:read:chat'], chat: true },
  },
  'channel.chat.notification': {
    version: '1',
    condition: { required: ['broadcaster_user_id', 'user_id'] },
    auth: { user: 'user_id', scopes: ['user:read:chat'], chat: true },
  },
};

for (const phase of ['begin', 'progress', 'end']) {
  TYPES[`channel.hype_train.${phase}`] = {
    version: '2', removed: ['1'], condition: broadcasterOnly, auth: byBroadcaster('channel:read:hype_train'),
  };
  TYPES[`channel.poll.${phase}`] = {
    version: '1', condition: broadcasterOnly, auth: byBroadcaster('channel:read:polls', 'channel:manage:polls'),
  };
}
for (const phase of ['begin', 'update', 'end']) {
  TYPES[`channel.shared_chat.${phase}`] = { version: '1', condition: broadcasterOnly }; // no authorization
}
for (const phase of ['begin', 'progress', 'end']) {
  TYPES[`channel.goal.${phase}`] = { version: '1', condition: broadcasterOnly, auth: byBroadcaster('channel:read:goals') };
}
for (const phase of ['donate', 'start', 'progress', 'stop']) {
  TYPES[`channel.charity_campaign.${phase}`] = { version: '1', condition: broadcasterOnly, auth: byBroadcaster('channel:read:charity') };
}
for (const phase of ['begin', 'progress', 'lock', 'end']) {
  TYPES[`channel.prediction.${phase}`] = {
    version: '1', condition: broadcasterOnly,
    auth: byBroadcaster('channel:read:predictions', 'channel:manage:predictions'),
  };
}

// Condition fields naming who reads or authorizes, not what the event is about.
const READER_FIELDS = new Set(['user_id', 'moderator_user_id']);

// Whether an event (the payload's "event" object) belongs to a subscription's condition.
function conditionMatches(condition, event) {
  for (const [key, value] of Object.entries(condition)) {
    if (READER_FIELDS.has(key)) continue;
    // the charity campaign start/progress/stop events name the channel broadcaster_id
    const actual = key === 'reward_id' ? event.reward?.id
      : key === 'broadcaster_user_id' && !('broadcaster_user_id' in event) ? event.broadcaster_id : event[key];
    if (actual !== value) return false;
  }
  return true;
}

module.exports = { TYPES, conditionMatches };
