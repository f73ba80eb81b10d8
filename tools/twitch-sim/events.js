'use strict';
// EventSub "event" objects, one builder per subscription type (field lists of the digest, §6.2).
// A builder gets ctx = {state, b, u, opt, now, followedAt}: b the broadcaster, u the acting user
// (follower, chatter, gifter, raider…), opt the optional trigger fields (already validated), now
// the event's timestamp, followedAt the recorded follow time (channel.follow).
// Values not given in opt are random but realistic.

const rand = require('./random');

// Optional POST /sim/trigger fields and their JSON types.
const OPTION_FIELDS = {
  notice_type: 'string', bits: 'integer', message: 'string', title: 'string', category_name: 'string',
  viewers: 'integer', tier: 'tier', total: 'integer', anonymous: 'boolean', reward_id: 'string',
  bits_type: 'string',
};

const NOTICE_KINDS = [
  'sub', 'resub', 'sub_gift', 'community_sub_gift', 'gift_paid_upgrade', 'prime_paid_upgrade', 'pay_it_forward',
  'raid', 'unraid', 'announcement', 'bits_badge_tier', 'charity_donation',
];
const SHARED_KINDS = NOTICE_KINDS.map((k) => `shared_chat_${k}`);
const NOTICE_TYPES = [...NOTICE_KINDS, ...SHARED_KINDS];

const who = (user, prefix) => ({
  [`${prefix}_id`]: user ? user.id : null,
  [`${prefix}_login`]: user ? user.login : null,
  [`${prefix}_name`]: user ? user.display_name : null,
});
const bc = (b) => who(b, 'broadcaster_user');
const later = (ctx, seconds) => ctx.state.timestamp(ctx.state.nowMs() + seconds * 1000);
const tierOf = (ctx) => ctx.opt.tier ?? rand.pick(['1000', '1000', '1000', '2000', '3000']);
const tierName = (tier) => `Tier ${tier[0]}`;
const anonymous = (ctx) => ctx.opt.anonymous ?? false;

// --- chat message text → fragments --------------------------------------------------------
const EMOTES = { Kappa: '25', LUL: '425618', HeyGuys: '30259', SeemsGood: '64138' };

function cheermoteTier(bits) {
  return [100000, 10000, 5000, 1000, 100, 1].find((t) => bits >= t) ?? 1;
}

function fragments(text, state) {
  const out = [];
  const fragment = (type, t, extra = {}) => ({ type, text: t, cheermote: null, emote: null, mention: null, ...extra });
  let plain = '';
  for (const word of text.split(/(\s+)/)) {
    const cheer = /^cheer(\d+)$/i.exec(word);
    const mentioned = word.startsWith('@') ? state.userByLogin(word.slice(1)) : null;
    const special = cheer || EMOTES[word] || mentioned;
    if (!special) {
      plain += word;
      continue;
    }
    if (plain) out.push(fragment('text', plain));
    plain = '';
    if (cheer) {
      const bits = Number(cheer[1]);
      out.push(fragment('cheermote', word, { cheermote: { prefix: 'cheer', bits, tier: cheermoteTier(bits) } }));
    } else if (EMOTES[word]) {
      out.push(fragment('emote', word, {
        emote: { id: EMOTES[word], emote_set_id: '0', owner_id: '0', format: ['static'] },
      }));
    } else {
      out.push(fragment('mention', word, { mention: { user_id: mentioned.id, user_name: mentioned.display_name, user_login: mentioned.login } }));
    }
  }
  if (plain) out.push(fragment('text', plain));
  return out;
}

const chatMessage = (text, state) => ({ text, fragments: text ? fragments(text, state) : [] });
const badges = () => (rand.chance(0.4) ? [{ set_id: 'subscriber', id: String(rand.pick([0, 3, 6, 12])), info: String(rand.int(1, 24)) }] : []);

// --- running activities: hype trains, polls and predictions keep their id from begin to end --
function activity(ctx, family, phase, create) {
  const key = `${family}:${ctx.b.id}`;
  let current = ctx.state.activities.get(key);
  if (!current || phase === 'begin') {
    current = create();
    ctx.state.activities.set(key, current);
  }
  if (phase === 'end') ctx.state.activities.delete(key);
  return current;
}

// --- hype train (v2) --------------------------------------------------------------------------
function hypeTrain(phase) {
  return (ctx) => {
    const train = activity(ctx, 'hype_train', phase, () => ({
      id: rand.uuid(), started_at: ctx.now, level: 1, total: 0, expiresIn: 300,
    }));
    train.total = ctx.opt.total ?? train.total + rand.int(100, 1500);
    train.level = Math.max(train.level, 1 + Math.floor(train.total / 2000));
    const contributor = ctx.u;
    const top = [
      { ...who(contributor, 'user'), type: 'bits', total: rand.int(100, 1000) },
      { ...who(ctx.state.randomViewer([ctx.b.id, contributor.id]), 'user'), type: 'subscription', total: 500 },
    ];
    const base = { id: train.id, ...bc(ctx.b), total: train.total };
    const goal = 2000 * train.level;
    const shared = { shared_train_participants: null, type: 'regular', is_shared_train: false };
    if (phase === 'end') {
      return {
        ...base, top_contributions: top, level: train.level, ...shared, started_at: train.started_at,
        ended_at: ctx.now, cooldown_ends_at: later(ctx, 3600),
      };
    }
    const running = {
      ...base, progress: train.total % goal, goal, top_contributions: top, level: train.level,
      started_at: train.started_at, expires_at: later(ctx, train.expiresIn), ...shared,
    };
    if (phase === 'begin') {
      running.all_time_high_level = Math.max(train.level, rand.int(2, 5));
      running.all_time_high_total = Math.max(train.total, rand.int(5000, 20000));
    }
    return running;
  };
}

// --- polls --------------------------------------------------------------------------------
function poll(phase) {
  return (ctx) => {
    const p = activity(ctx, 'poll', phase, () => ({
      id: rand.uuid(),
      title: ctx.opt.title ?? rand.pick(rand.POLL_TITLES),
      choices: rand.pick(rand.POLL_CHOICES).map((title) => ({ id: rand.uuid(), title, votes: 0 })),
      started_at: ctx.now,
    }));
    if (phase !== 'begin') for (const c of p.choices) c.votes += rand.int(0, 40);
    const choices = p.choices.map((c) => (phase === 'begin'
      ? { id: c.id, title: c.title }
      : { id: c.id, title: c.title, bits_votes: 0, channel_points_votes: Math.floor(c.votes / 2), votes: c.votes }));
    const common = {
      id: p.id, ...bc(ctx.b), title: p.title, choices,
      bits_voting: { is_enabled: false, amount_per_vote: 0 },
      channel_points_voting: { is_enabled: true, amount_per_vote: 10 },
    };
    if (phase === 'end') return { ...common, status: 'completed', started_at: p.started_at, ended_at: ctx.now };
    return { ...common, started_at: p.started_at, ends_at: later(ctx, 120) };
  };
}

// --- predictions ----------------------------------------------------------------------------
function prediction(phase) {
  return (ctx) => {
    const p = activity(ctx, 'prediction', phase, () => ({
      id: rand.uuid(),
      title: ctx.opt.title ?? rand.pick(rand.PREDICTION_TITLES),
      outcomes: [['Yes', 'blue'], ['No', 'pink']].map(([title, color]) => ({ id: rand.uuid(), title, color })),
      started_at: ctx.now,
    }));
    const common = { id: p.id, ...bc(ctx.b), title: p.title };
    if (phase === 'begin') {
      return { ...common, outcomes: p.outcomes.map(({ id, title, color }) => ({ id, title, color })), started_at: p.started_at, locks_at: later(ctx, 120) };
    }
    const winner = p.outcomes[rand.int(0, 1)].id;
    const outcomes = p.outcomes.map(({ id, title, color }, i) => {
      const first = i === 0 ? ctx.u : ctx.state.randomViewer([ctx.b.id, ctx.u.id]);
      const predictors = [first, ctx.state.randomViewer([ctx.b.id, ctx.u.id, first.id])].map((user) => {
        const used = rand.int(10, 5000);
        const won = phase !== 'end' ? null : id === winner ? used * 2 : 0;
        return { ...who(user, 'user'), channel_points_won: won, channel_points_used: used };
      });
      const points = predictors.reduce((s, t) => s + t.channel_points_used, 0);
      return { id, title, color, users: predictors.length, channel_points: points, top_predictors: predictors };
    });
    if (phase === 'progress') return { ...common, outcomes, started_at: p.started_at, locks_at: later(ctx, 60) };
    if (phase === 'lock') return { ...common, outcomes, started_at: p.started_at, locked_at: ctx.now };
    return { ...common, winning_outcome_id: winner, outcomes, status: 'resolved', started_at: p.started_at, ended_at: ctx.now };
  };
}

// --- channel.chat.notification ----------------------------------------------------------------
function noticeObject(kind, ctx, recipient) {
  const tier = tierOf(ctx);
  const gifter = ctx.u;
  const anon = anonymous(ctx);
  switch (kind) {
    case 'sub':
      return { sub_tier: tier, is_prime: false, duration_months: 1 };
    case 'resub': {
      const cumulative = rand.int(2, 48);
      return {
        cumulative_months: cumulative, duration_months: 1, streak_months: rand.chance(0.7) ? rand.int(1, cumulative) : null,
        sub_tier: tier, is_prime: false, is_gift: false, gifter_is_anonymous: null,
        gifter_user_id: null, gifter_user_name: null, gifter_user_login: null,
      };
    }
    case 'sub_gift':
      return {
        duration_months: 1, cumulative_total: anon ? null : rand.int(1, 100),
        recipient_user_id: recipient.id, recipient_user_name: recipient.display_name, recipient_user_login: recipient.login,
        sub_tier: tier, community_gift_id: null,
      };
    case 'community_sub_gift':
      return { id: rand.token(20), total: ctx.opt.total ?? rand.pick([1, 5, 10, 20]), sub_tier: tier, cumulative_total: anon ? null : rand.int(20, 500) };
    case 'gift_paid_upgrade':
      return { gifter_is_anonymous: false, gifter_user_id: recipient.id, gifter_user_name: recipient.display_name };
    case 'prime_paid_upgrade':
      return { sub_tier: tier };
    case 'pay_it_forward':
      return { gifter_is_anonymous: false, gifter_user_id: recipient.id, gifter_user_name: recipient.display_name, gifter_user_login: recipient.login };
    case 'raid':
      return {
        user_id: gifter.id, user_name: gifter.display_name, user_login: gifter.login,
        viewer_count: ctx.opt.viewers ?? rand.int(2, 800), profile_image_url: gifter.profile_image_url,
      };
    case 'unraid':
      return {};
    case 'announcement':
      return { color: rand.pick(['PRIMARY', 'BLUE', 'GREEN', 'ORANGE', 'PURPLE']) };
    case 'bits_badge_tier':
      return { tier: ctx.opt.bits ?? rand.pick([1000, 5000, 10000]) };
    case 'charity_donation':
      return { charity_name: rand.pick(rand.CHARITIES), amount: { value: rand.pick([500, 1000, 2500]), decimal_place: 2, currency: 'USD' } };
  }
  throw new Error(`no notice builder for ${kind}`);
}

function systemMessage(kind, ctx, notice) {
  const name = anonymous(ctx) ? 'An anonymous user' : ctx.u.display_name;
  switch (kind) {
    case 'sub': return `${name} subscribed at ${tierName(notice.sub_tier)}.`;
    case 'resub': return `${name} subscribed at ${tierName(notice.sub_tier)}. They've subscribed for ${notice.cumulative_months} months!`;
    case 'sub_gift': return `${name} gifted a ${tierName(notice.sub_tier)} sub to ${notice.recipient_user_name}!`;
    case 'community_sub_gift': return `${name} is gifting ${notice.total} ${tierName(notice.sub_tier)} Subs to ${ctx.b.display_name}'s community!`;
    case 'gift_paid_upgrade': return `${name} is continuing the Gift Sub they got from ${notice.gifter_user_name}!`;
    case 'prime_paid_upgrade': return `${name} converted from a Prime sub to a ${tierName(notice.sub_tier)} sub!`;
    case 'pay_it_forward': return `${name} is paying forward the Gift they got from ${notice.gifter_user_name} to the community!`;
    case 'raid': return `${notice.viewer_count} raiders from ${notice.user_name} have joined!`;
    case 'unraid': return 'The raid has been canceled.';
    case 'announcement': return '';
    case 'bits_badge_tier': return `${name} just earned a new ${notice.tier / 1000}K Bits badge!`;
    case 'charity_donation': return `${name}: Donated USD ${notice.amount.value / 100} to support ${notice.charity_name}.`;
  }
  return '';
}

function chatNotification(ctx) {
  const type = ctx.opt.notice_type ?? rand.weighted([['sub', 4], ['resub', 5], ['sub_gift', 2], ['community_sub_gift', 1], ['raid', 1], ['announcement', 1]]);
  const shared = type.startsWith('shared_chat_');
  const kind = shared ? type.slice('shared_chat_'.length) : type;
  const recipient = ctx.state.randomViewer([ctx.b.id, ctx.u.id]);
  const notice = noticeObject(kind, ctx, recipient);
  const anon = anonymous(ctx) && (kind === 'sub_gift' || kind === 'community_sub_gift');
  const typed = kind === 'resub' || kind === 'announcement' ? ctx.opt.message ?? rand.pick(kind === 'resub' ? rand.SUB_MESSAGES : rand.ANNOUNCEMENTS) : ctx.opt.message ?? '';
  const event = {
    ...bc(ctx.b),
    chatter_user_id: anon ? null : ctx.u.id, chatter_user_login: anon ? null : ctx.u.login, chatter_user_name: anon ? null : ctx.u.display_name,
    chatter_is_anonymous: anon,
    color: rand.pick(rand.COLORS),
    badges: badges(),
    system_message: systemMessage(kind, ctx, notice),
    message_id: rand.uuid(),
    message: chatMessage(typed, ctx.state),
    notice_type: type,
  };
  for (const k of NOTICE_TYPES) event[k] = k === type ? notice : null;
  const source = shared ? ctx.state.randomViewer([ctx.b.id]) : null;
  Object.assign(event, who(source, 'source_broadcaster_user'), {
    source_message_id: shared ? rand.uuid() : null,
    source_badges: shared ? [] : null,
  });
  return event;
}

function chatMessageEvent(ctx) {
  let text = ctx.opt.message ?? rand.pick(rand.CHAT_LINES);
  const bits = ctx.opt.bits ?? null;
  if (bits !== null && !/\bcheer\d+\b/i.test(text)) text = `Cheer${bits} ${text}`;
  return {
    ...bc(ctx.b), ...who(ctx.u, 'chatter_user'),
    message_id: rand.uuid(),
    message: chatMessage(text, ctx.state),
    message_type: 'text',
    badges: badges(),
    cheer: bits === null ? null : { bits },
    color: rand.pick(rand.COLORS),
    reply: null,
    channel_points_custom_reward_id: null,
    source_broadcaster_user_id: null, source_broadcaster_user_login: null, source_broadcaster_user_name: null,
    source_message_id: null, source_badges: null, is_source_only: null,
  };
}

// --- the table ------------------------------------------------------------------------------
const BUILDERS = {
  // The stream exists: emitting stream.online puts the broadcaster live first.
  'stream.online': (ctx) => {
    const stream = ctx.state.streams.get(ctx.b.id);
    const startedAt = stream.startedMs === undefined ? stream.started_at : ctx.state.timestamp(stream.startedMs);
    return { id: stream.id, ...bc(ctx.b), type: 'live', started_at: startedAt };
  },
  'stream.offline': (ctx) => bc(ctx.b),
  'channel.update': (ctx) => {
    const ch = ctx.state.channels.get(ctx.b.id);
    return {
      ...bc(ctx.b), title: ch.title, language: ch.language, category_id: ch.game_id, category_name: ch.game_name,
      content_classification_labels: ch.content_classification_labels,
    };
  },
  'channel.raid': (ctx) => ({
    ...who(ctx.u, 'from_broadcaster_user'), ...who(ctx.b, 'to_broadcaster_user'), viewers: ctx.opt.viewers ?? rand.int(2, 800),
  }),
  'channel.follow': (ctx) => ({ ...who(ctx.u, 'user'), ...bc(ctx.b), followed_at: ctx.followedAt ?? ctx.now }),
  'channel.subscribe': (ctx) => ({ ...who(ctx.u, 'user'), ...bc(ctx.b), tier: tierOf(ctx), is_gift: rand.chance(0.2) }),
  'channel.subscription.gift': (ctx) => {
    const anon = anonymous(ctx);
    return {
      ...who(anon ? null : ctx.u, 'user'), ...bc(ctx.b), total: ctx.opt.total ?? rand.pick([1, 1, 5, 10]), tier: tierOf(ctx),
      cumulative_total: anon ? null : rand.int(1, 200), is_anonymous: anon,
    };
  },
  'channel.subscription.message': (ctx) => {
    const cumulative = rand.int(2, 48);
    const text = ctx.opt.message ?? rand.pick(rand.SUB_MESSAGES);
    const emotes = Object.keys(EMOTES).flatMap((name) => {
      const at = text.indexOf(name);
      return at < 0 ? [] : [{ begin: at, end: at + name.length - 1, id: EMOTES[name] }];
    });
    return {
      ...who(ctx.u, 'user'), ...bc(ctx.b), tier: tierOf(ctx), message: { text, emotes },
      cumulative_months: cumulative, streak_months: rand.chance(0.7) ? rand.int(1, cumulative) : null, duration_months: 1,
    };
  },
  'channel.cheer': (ctx) => {
    const anon = anonymous(ctx);
    const bits = ctx.opt.bits ?? rand.pick([1, 50, 100, 500, 1000]);
    return {
      is_anonymous: anon, ...who(anon ? null : ctx.u, 'user'), ...bc(ctx.b),
      message: ctx.opt.message ?? `Cheer${bits} ${rand.pick(rand.CHEER_MESSAGES)}`, bits,
    };
  },
  'channel.channel_points_custom_reward_redemption.add': (ctx) => {
    const [title, cost] = rand.pick(rand.REWARDS);
    return {
      id: rand.uuid(), ...bc(ctx.b), ...who(ctx.u, 'user'),
      user_input: title.startsWith('Choose') ? rand.pick(['Never Gonna Give You Up', 'Sandstorm', 'lofi beats']) : '',
      status: 'unfulfilled',
      reward: { id: ctx.opt.reward_id ?? rand.uuid(), title: ctx.opt.title ?? title, cost, prompt: `Redeem "${title}"` },
      redeemed_at: ctx.now,
    };
  },
  'channel.ban': (ctx) => {
    const permanent = rand.chance(0.3);
    return {
      ...who(ctx.u, 'user'), ...bc(ctx.b), ...who(ctx.b, 'moderator_user'),
      reason: ctx.opt.message ?? rand.pick(rand.BAN_REASONS), banned_at: ctx.now,
      ends_at: permanent ? null : later(ctx, rand.pick([60, 600, 3600])), is_permanent: permanent,
    };
  },
  'channel.chat.message': chatMessageEvent,
  'channel.chat.notification': chatNotification,
  // Cheers, Power-ups and Combos (opt.notice_type picks: cheer, power_up, combo).
  'channel.bits.use': (ctx) => {
    const kind = ctx.opt.bits_type ?? rand.weighted([['cheer', 5], ['power_up', 2], ['combo', 1]]);
    const bits = ctx.opt.bits ?? (kind === 'combo' ? rand.pick([1, 5, 10]) : rand.pick([50, 100, 500]));
    const text = kind === 'cheer' ? ctx.opt.message ?? `Cheer${bits} ${rand.pick(rand.CHEER_MESSAGES)}` : null;
    const powerUp = kind !== 'power_up' ? null : {
      type: rand.pick(['message_effect', 'celebration', 'gigantify_an_emote']),
      emote: null, message_effect_id: null,
    };
    if (powerUp && powerUp.type === 'gigantify_an_emote') powerUp.emote = { id: EMOTES.Kappa, name: 'Kappa' };
    if (powerUp && powerUp.type === 'message_effect') powerUp.message_effect_id = 'cosmic-abyss';
    return {
      ...who(ctx.u, 'user'), ...bc(ctx.b), bits, type: kind,
      message: text === null ? null : chatMessage(text, ctx.state), power_up: powerUp,
    };
  },
  'channel.channel_points_automatic_reward_redemption.add': (ctx) => {
    const type = rand.pick(['send_highlighted_message', 'single_message_bypass_sub_mode', 'random_sub_emote_unlock']);
    const text = type === 'random_sub_emote_unlock' ? '' : ctx.opt.message ?? rand.pick(rand.CHAT_LINES);
    return {
      ...bc(ctx.b), ...who(ctx.u, 'user'), id: rand.uuid(),
      reward: {
        type, channel_points: rand.pick([100, 150, 250]),
        emote: type === 'random_sub_emote_unlock' ? { id: EMOTES.HeyGuys, name: 'HeyGuys' } : null,
      },
      message: { text, fragments: text ? fragments(text, ctx.state).map(({ type: t, text: x, emote }) => ({ type: t === 'emote' ? 'emote' : 'text', text: x, emote: emote ? { id: emote.id } : null })) : [] },
      redeemed_at: ctx.now,
    };
  },
  'channel.ad_break.begin': (ctx) => ({
    duration_seconds: ctx.opt.total ?? rand.pick([30, 60, 90, 180]), started_at: ctx.now, is_automatic: rand.chance(0.5),
    ...bc(ctx.b), ...who(ctx.b, 'requester_user'),
  }),
  // The broadcaster shouts out the acting user (another streamer); a moderator may do it.
  'channel.shoutout.create': (ctx) => ({
    ...bc(ctx.b), ...who(ctx.b, 'moderator_user'), ...who(ctx.u, 'to_broadcaster_user'),
    started_at: ctx.now, viewer_count: ctx.opt.viewers ?? rand.int(2, 800),
    cooldown_ends_at: later(ctx, 120), target_cooldown_ends_at: later(ctx, 3600),
  }),
  // The acting user (another streamer) shouts out the broadcaster.
  'channel.shoutout.receive': (ctx) => ({
    ...bc(ctx.b), ...who(ctx.u, 'from_broadcaster_user'), viewer_count: ctx.opt.viewers ?? rand.int(2, 800), started_at: ctx.now,
  }),
  'channel.charity_campaign.donate': (ctx) => {
    const c = charity(ctx, 'donate');
    const value = ctx.opt.total ?? rand.pick([500, 1000, 2500, 10000]);
    c.current += value;
    return {
      id: rand.uuid(), campaign_id: c.id, ...bc(ctx.b), ...who(ctx.u, 'user'), ...charityInfo(c),
      amount: { value, decimal_places: 2, currency: 'USD' },
    };
  },
};

// --- goals and charity campaigns: one running per broadcaster, from start to end -------------
const GOAL_KINDS = ['follow', 'subscription', 'subscription_count', 'new_subscription', 'new_subscription_count', 'new_bit', 'new_cheerer'];
function goal(phase) {
  return (ctx) => {
    const g = activity(ctx, 'goal', phase, () => ({
      id: rand.uuid(), type: rand.pick(GOAL_KINDS), description: ctx.opt.title ?? 'Road to 100!',
      current: rand.int(0, 50), target: 100, started_at: ctx.now,
    }));
    if (phase !== 'begin') g.current = Math.min(g.target, g.current + rand.int(1, 20));
    const event = {
      id: g.id, ...bc(ctx.b), type: g.type, description: g.description,
      current_amount: g.current, target_amount: g.target, started_at: g.started_at,
    };
    if (phase === 'end') Object.assign(event, { is_achieved: g.current >= g.target, ended_at: ctx.now });
    return event;
  };
}

function charity(ctx, phase) {
  return activity(ctx, 'charity', phase === 'start' ? 'begin' : phase === 'stop' ? 'end' : phase, () => ({
    id: rand.uuid(), name: rand.pick(rand.CHARITIES), current: 0, target: 1500000, started_at: ctx.now,
  }));
}

const charityInfo = (c) => ({
  charity_name: c.name, charity_description: `Support ${c.name}`,
  charity_logo: 'https://static-cdn.jtvnw.net/charity/logo.png', charity_website: 'https://www.example.org',
});

// The campaign events name the channel broadcaster_id/_login/_name, as the reference does.
function charityCampaign(phase) {
  return (ctx) => {
    const c = charity(ctx, phase);
    if (phase === 'progress') c.current += rand.int(1000, 50000);
    const event = {
      id: c.id, broadcaster_id: ctx.b.id, broadcaster_name: ctx.b.display_name, broadcaster_login: ctx.b.login,
      ...charityInfo(c),
      current_amount: { value: c.current, decimal_places: 2, currency: 'USD' },
      target_amount: { value: c.target, decimal_places: 2, currency: 'USD' },
    };
    if (phase === 'start') event.started_at = ctx.now;
    if (phase === 'stop') event.stopped_at = ctx.now;
    return event;
  };
}

// --- shared chat: the broadcaster and the acting user's channel share one chat ---------------
function sharedChat(phase) {
  return (ctx) => {
    const s = activity(ctx, 'shared_chat', phase === 'update' ? 'progress' : phase, () => ({
      session_id: rand.uuid(), participants: [ctx.b],
    }));
    if (phase !== 'end' && !s.participants.some((p) => p.id === ctx.u.id)) s.participants.push(ctx.u);
    const host = s.participants[0];
    const event = { session_id: s.session_id, ...bc(ctx.b), ...who(host, 'host_broadcaster_user') };
    if (phase !== 'end') event.participants = s.participants.map((p) => bc(p));
    return event;
  };
}

for (const phase of ['begin', 'progress', 'end']) BUILDERS[`channel.goal.${phase}`] = goal(phase);
for (const phase of ['start', 'progress', 'stop']) BUILDERS[`channel.charity_campaign.${phase}`] = charityCampaign(phase);
for (const phase of ['begin', 'update', 'end']) BUILDERS[`channel.shared_chat.${phase}`] = sharedChat(phase);
for (const phase of ['begin', 'progress', 'end']) {
  BUILDERS[`channel.hype_train.${phase}`] = hypeTrain(phase);
  BUILDERS[`channel.poll.${phase}`] = poll(phase);
}
for (const phase of ['begin', 'progress', 'lock', 'end']) BUILDERS[`channel.prediction.${phase}`] = prediction(phase);

// Types whose event has no acting user.
const NO_ACTOR = new Set(['stream.online', 'stream.offline', 'channel.update', 'channel.ad_break.begin',
  'channel.goal.begin', 'channel.goal.progress', 'channel.goal.end', 'channel.charity_campaign.start',
  'channel.charity_campaign.progress', 'channel.charity_campaign.stop', 'channel.shared_chat.end']);

function buildEvent(type, ctx) {
  return BUILDERS[type]({ ...ctx, now: ctx.state.timestamp() });
}

module.exports = { BUILDERS, OPTION_FIELDS, NOTICE_TYPES, NO_ACTOR, buildEvent };
