// The live feed: Server-Sent Events for decisions and model swaps, plus a status poll (counts,
// camera, fail-safe). Emits `decision`, `model`, `status`, `shift`, `open` and `connection` events.

import { currentShiftStart } from './shift.js';

const LOST_AFTER_MS = 5000;

export class LiveFeed extends EventTarget {
  constructor(client, { shifts, statusIntervalMs = 2000 }) {
    super();
    this.client = client;
    this.shifts = shifts;
    this.statusIntervalMs = statusIntervalMs;
    this.source = null;
    this.timer = null;
    this.polling = false;
    this.lastPoll = 0;
    this.lastOk = null;
    this.state = 'connecting';
  }

  start() {
    this.open();
    this.poll();
    this.timer = setInterval(() => this.poll(), this.statusIntervalMs);
    setInterval(() => this.updateConnection(), 1000);
  }

  /** Reconnect (after the API key changed). */
  restart() {
    if (this.source) this.source.close();
    this.open();
    this.poll();
  }

  open() {
    const source = new EventSource(this.client.url('/api/v1/events'));
    this.source = source;
    source.addEventListener('open', () => {
      this.emit('open');
      this.updateConnection();
    });
    source.addEventListener('decision', (event) => this.emit('decision', JSON.parse(event.data)));
    source.addEventListener('model', (event) => this.emit('model', JSON.parse(event.data)));
    source.addEventListener('error', () => {
      this.updateConnection();
      // A refused stream (e.g. a wrong key) is closed for good by the browser: try again later.
      if (source.readyState === EventSource.CLOSED) {
        setTimeout(() => {
          if (this.source === source) this.open();
        }, 3000);
      }
    });
  }

  /** Poll now unless a poll ran less than `minGapMs` ago (new decisions call this). */
  poke(minGapMs = 800) {
    if (performance.now() - this.lastPoll >= minGapMs) this.poll();
  }

  async poll() {
    if (this.polling) return;
    this.polling = true;
    this.lastPoll = performance.now();
    try {
      const since = currentShiftStart(this.shifts);
      const [status, shift] = await Promise.all([
        this.client.get('/api/v1/status'),
        this.client.get('/api/v1/counts', { since: since.toISOString() }),
      ]);
      this.lastOk = new Date();
      this.emit('status', status);
      this.emit('shift', { since, counts: shift.counts });
    } catch (error) {
      this.emit('failure', error);
    } finally {
      this.polling = false;
      this.updateConnection();
    }
  }

  updateConnection() {
    const recent = this.lastOk !== null && Date.now() - this.lastOk.getTime() < LOST_AFTER_MS;
    const streaming = this.source && this.source.readyState === EventSource.OPEN;
    let state = 'connecting';
    if (recent && streaming) state = 'live';
    else if (!recent && (this.lastOk !== null || performance.now() > LOST_AFTER_MS)) state = 'lost';
    if (state !== this.state) {
      this.state = state;
      this.emit('connection', { state, lastOk: this.lastOk });
    }
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
