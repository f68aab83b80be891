// Shifts: counters start at the latest shift start. Shift start times (local, HH:MM) come from
// ?shifts=06:00,14:00,22:00 (remembered in this browser) or the defaults below.

const DEFAULT_SHIFTS = ['06:00', '14:00', '22:00'];
const STORAGE = 'gaikan.shifts';

function parse(text) {
  const times = String(text || '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => /^([01]?\d|2[0-3]):[0-5]\d$/.test(item));
  return times.length ? times : null;
}

export function shiftStarts(search = location.search, storage = window.localStorage) {
  const asked = parse(new URLSearchParams(search).get('shifts'));
  if (asked) storage.setItem(STORAGE, asked.join(','));
  return asked || parse(storage.getItem(STORAGE)) || DEFAULT_SHIFTS;
}

/** The most recent shift start at or before `now`. */
export function currentShiftStart(starts, now = new Date()) {
  let best = null;
  for (const dayOffset of [0, -1]) {
    for (const start of starts) {
      const [hours, minutes] = start.split(':').map(Number);
      const candidate = new Date(now.getFullYear(), now.getMonth(), now.getDate() + dayOffset, hours, minutes);
      if (candidate <= now && (best === null || candidate > best)) best = candidate;
    }
  }
  return best;
}
