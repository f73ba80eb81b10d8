'use strict';
// Random but realistic values: names, chat lines, titles, games, opaque ids.

const crypto = require('node:crypto');

const int = (min, max) => min + crypto.randomInt(max - min + 1);
const pick = (list) => list[crypto.randomInt(list.length)];
const chance = (p) => Math.random() < p;
const uuid = () => crypto.randomUUID();

const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';
function token(length) {
  let s = '';
  const bytes = crypto.randomBytes(length);
  for (const b of bytes) s += ALNUM[b % ALNUM.length];
  return s;
}

// Session ids look like Twitch's: "AQoQ" + base64url.
const sessionId = () => 'AQoQ' + crypto.randomBytes(18).toString('base64url');

// Weighted pick: entries are [value, weight].
function weighted(entries) {
  const total = entries.reduce((s, [, w]) => s + w, 0);
  let r = Math.random() * total;
  for (const [value, w] of entries) {
    r -= w;
    if (r < 0) return value;
  }
  return entries[entries.length - 1][0];
}

const VIEWER_NAMES = [
  'pixel_wanderer', 'mossy_keyboard', 'quietfox42', 'lagswitch_larry', 'noodle_enjoyer', 'sir_clutchalot',
  'cozy_capybara', 'bytebandit', 'midnight_mango', 'frostbyte_fan', 'tiltproof', 'kappa_karen', 'speedy_snail',
  'glitchgoblin', 'potato_aim', 'chatterbox_cat', 'retro_rhea', 'nebula_ned', 'waffle_warrior', 'lurkmaster5000',
  'caffeinated_crow', 'sunny_side_sam', 'gg_no_re', 'dancing_dumpling', 'hyper_hedgehog', 'velvet_vortex',
];

const CHAT_LINES = [
  'LUL that was so close', 'gg', 'HeyGuys hello chat', 'what game is this?', 'Kappa', 'no way that worked',
  'first time catching the stream live!', 'SeemsGood nice play', 'the music today is great', 'clip it!',
  'how long have you been streaming today?', 'W streamer', 'lets gooo', 'that boss is brutal LUL',
  'hydrate check Kappa', 'love the new overlay', 'back from work, what did I miss?', 'o7',
];

const SUB_MESSAGES = ['Love the streams!', 'Another month, let\'s go!', 'Happy to support', 'HeyGuys', ''];
const CHEER_MESSAGES = ['Great stream!', 'For the snacks fund', 'GG!', 'Keep it up', 'Take my bits'];
const ANNOUNCEMENTS = ['Giveaway at 1000 followers!', 'Stream schedule updated, check the panels', 'Be kind in chat'];

const GAMES = [
  ['509658', 'Just Chatting'], ['27471', 'Minecraft'], ['516575', 'VALORANT'], ['21779', 'League of Legends'],
  ['32982', 'Grand Theft Auto V'], ['511224', 'Apex Legends'], ['33214', 'Fortnite'], ['26936', 'Music'],
  ['509660', 'Art'], ['1469308723', 'Software and Game Development'], ['491931', 'Escape from Tarkov'],
];

const TITLES = [
  'chill vibes and ranked grind', 'first playthrough, no spoilers please', 'speedrun attempts until PB',
  'cozy morning stream ☕', 'building the megabase', 'viewer games tonight!', 'road to top 500',
  'late night coding session', 'painting commissions live', 'tournament practice',
];

const POLL_TITLES = ['Which map next?', 'Pizza or tacos?', 'Next game?', 'Hardcore mode?'];
const POLL_CHOICES = [['Yes', 'No'], ['Forest', 'Desert', 'Castle'], ['Pizza', 'Tacos', 'Sushi']];
const PREDICTION_TITLES = ['Will we beat the boss?', 'Win this round?', 'Under 30 minutes?'];
const REWARDS = [['Hydrate!', 100], ['Choose the next song', 500], ['Highlight my message', 200], ['VIP for a day', 50000]];
const BAN_REASONS = ['spam', 'rude to other chatters', 'self-promotion', ''];
const CHARITIES = ['Direct Relief', 'St. Jude Children\'s Research Hospital', 'Doctors Without Borders'];
const COLORS = ['#FF4500', '#1E90FF', '#9ACD32', '#DAA520', '#8A2BE2', '#00FF7F', '#FF69B4', ''];

module.exports = {
  int, pick, chance, uuid, token, sessionId, weighted,
  VIEWER_NAMES, CHAT_LINES, SUB_MESSAGES, CHEER_MESSAGES, ANNOUNCEMENTS, GAMES, TITLES,
  POLL_TITLES, POLL_CHOICES, PREDICTION_TITLES, REWARDS, BAN_REASONS, CHARITIES, COLORS,
};
