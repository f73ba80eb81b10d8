'use strict';
// --demo: a few streamers (some live) and viewers who follow them, and a gentle, realistic stream
// of events (about one every 1–3 s per streamer that has subscriptions) sent to whatever
// subscriptions exist. Events go through the same path as POST /sim/trigger.

const rand = require('./random');

const STREAMERS = [
  { login: 'lunalofi', display_name: 'LunaLofi', live: true, game: 'Music', title: 'lofi beats to code to 🎧' },
  { login: 'speedrunsam', display_name: 'SpeedrunSam', live: true, game: 'Minecraft', title: 'any% practice, PB hunting' },
  { login: 'cozycrafter', display_name: 'CozyCrafter', live: true, game: 'Art', title: 'painting commissions live' },
  { login: 'nightowl_tv', display_name: 'NightOwl_TV', live: false, game: 'Just Chatting', title: 'late night talks' },
  { login: 'tacticaltess', display_name: 'TacticalTess', live: false, game: 'VALORANT', title: 'road to Radiant' },
];
const VIEWERS = 20;

// How often each kind of event happens; a multi-phase family picks its next phase itself.
const MIX = [
  ['channel.chat.message', 30], ['channel.chat.notification', 25], ['channel.follow', 15],
  ['channel.subscribe', 5], ['channel.subscription.message', 4], ['channel.subscription.gift', 2], ['channel.cheer', 4],
  ['channel.channel_points_custom_reward_redemption.add', 5], ['channel.raid', 2], ['channel.update', 1], ['channel.ban', 1],
  ['channel.hype_train', 2], ['channel.poll', 2], ['channel.prediction', 2], ['stream', 1],
];
const PHASES = {
  'channel.hype_train': ['begin', 'progress', 'end'],
  'channel.poll': ['begin', 'progress', 'end'],
  'channel.prediction': ['begin', 'progress', 'lock', 'end'],
};

class Demo {
  constructor(sim) {
    this.sim = sim;
    this.streamers = [];
    this.timers = new Map();
    this.phase = new Map(); // `${family}:${broadcasterId}` -> index of the next phase
  }

  get state() {
    return this.sim.state;
  }

  seed() {
    const { state } = this;
    for (const s of STREAMERS) {
      const user = state.userByLogin(s.login) ?? state.createUser({ login: s.login, display_name: s.display_name, broadcaster_type: 'affiliate' });
      const ch = state.channels.get(user.id);
      const [gameId, gameName] = rand.GAMES.find(([, name]) => name === s.game);
      Object.assign(ch, { title: s.title, game_id: gameId, game_name: gameName });
      if (s.live) state.goLive(user, Date.now() - rand.int(5, 180) * 60000);
      this.streamers.push(user);
    }
    const viewers = [];
    for (const login of rand.VIEWER_NAMES.slice(0, VIEWERS)) viewers.push(state.userByLogin(login) ?? state.createUser({ login }));
    const auto = this.sim.config.autoApprove && state.userByLogin(this.sim.config.autoApprove);
    if (auto) viewers.push(auto);
    for (const v of viewers) {
      const follows = v === auto ? this.streamers.slice(0, 3) : this.streamers.filter(() => rand.chance(0.4));
      for (const b of follows) state.follow(v, b, new Date(Date.now() - rand.int(1, 400) * 86400000));
    }
    this.sim.log.info('demo seeded', { streamers: this.streamers.map((s) => s.login), viewers: viewers.length });
  }

  start() {
    this.seed();
    for (const b of this.streamers) this.schedule(b);
  }

  stop() {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  schedule(b) {
    this.timers.set(b.id, setTimeout(() => {
      this.tick(b);
      this.schedule(b);
    }, rand.int(1000, 3000)));
  }

  // Subscription types with an enabled subscription about this broadcaster.
  subscribedTypes(b) {
    const types = new Set();
    for (const sub of this.state.subscriptions.values()) {
      if (sub.status === 'enabled' && Object.values(sub.condition).includes(b.id)) types.add(sub.type);
    }
    return types;
  }

  tick(b) {
    const subscribed = this.subscribedTypes(b);
    if (subscribed.size === 0) return;
    const candidates = MIX.map(([family, weight]) => [this.nextType(family, b), weight]).filter(([type]) => subscribed.has(type));
    if (candidates.length === 0) return;
    const type = rand.weighted(candidates);
    if (PHASES[type.slice(0, type.lastIndexOf('.'))]) this.advance(type, b);
    const control = this.sim.control;
    if (type === 'channel.raid') {
      const raider = rand.pick(this.streamers.filter((s) => s.id !== b.id));
      control.emit(type, { b, u: raider });
    } else if (type === 'channel.update') {
      const [, game] = rand.pick(rand.GAMES);
      control.emit(type, { b, opt: { title: rand.pick(rand.TITLES), category_name: game } });
    } else {
      control.emit(type, { b });
    }
  }

  // The concrete type a family would emit next: multi-phase families run begin → … → end;
  // "stream" flips the stream between online and offline.
  nextType(family, b) {
    if (family === 'stream') return this.state.streams.has(b.id) ? 'stream.offline' : 'stream.online';
    const phases = PHASES[family];
    if (!phases) return family;
    return `${family}.${phases[this.phase.get(`${family}:${b.id}`) ?? 0]}`;
  }

  advance(type, b) {
    const family = type.slice(0, type.lastIndexOf('.'));
    const phases = PHASES[family];
    const key = `${family}:${b.id}`;
    const next = (this.phase.get(key) ?? 0) + 1;
    // progress repeats a few times before the family moves on.
    const repeat = phases[next - 1] === 'progress' && rand.chance(0.6);
    this.phase.set(key, repeat ? next - 1 : next % phases.length);
  }
}

module.exports = { Demo };
