// The alarm banner: lost connection and fail-safe are critical; parts rejected without inspection
// (deadline missed, errors) in the last minute are a warning.

import { byId, el } from './dom.js';

const RECENT_MS = 60_000;

export class Alarm {
  constructor(texts) {
    this.texts = texts;
    this.banner = byId('alarm');
    this.connection = { state: 'connecting', lastOk: null };
    this.failSafe = [];
    this.cameraError = null;
    this.uninspected = [];
    this.plc = [];
    setInterval(() => this.render(), 5000);
  }

  setConnection(connection) {
    this.connection = connection;
    this.render();
  }

  setStatus(status) {
    this.failSafe = status.fail_safe;
    this.cameraError = status.camera.error;
    this.plc = status.plc || [];
    this.render();
  }

  noteDecision(decision) {
    if (decision.reason === 'score') return;
    this.uninspected.push({ at: Date.now(), reason: decision.reason });
    this.render();
  }

  messages() {
    const { texts } = this;
    const critical = [];
    if (this.connection.state === 'lost') {
      critical.push(
        this.connection.lastOk
          ? texts.t('alarm.connection', { time: texts.time(this.connection.lastOk) })
          : texts.t('alarm.connectionNever'),
      );
    }
    if (this.failSafe.length) {
      const reasons = this.failSafe.map((reason) => {
        const text = texts.t(`alarm.failSafe.${reason}`);
        return reason === 'camera_fault' && this.cameraError ? `${text} (${this.cameraError})` : text;
      });
      critical.push(`${texts.t('alarm.failSafe')}: ${reasons.join('; ')}`);
    }
    for (const plc of this.plc) {
      if (plc.silent_for_s !== null) {
        critical.push(texts.t('alarm.plcSilent', { client: plc.client, seconds: Math.round(plc.silent_for_s), pending: plc.pending }));
      }
      if (plc.backlog) critical.push(texts.t('alarm.plcBacklog', { client: plc.client, pending: plc.pending }));
    }
    const now = Date.now();
    this.uninspected = this.uninspected.filter((item) => now - item.at < RECENT_MS);
    const warnings = [];
    if (this.uninspected.length) {
      const byReason = new Map();
      for (const item of this.uninspected) byReason.set(item.reason, (byReason.get(item.reason) || 0) + 1);
      const reasons = [...byReason].map(([reason, count]) => `${texts.t(`reason.${reason}`)} ${count}`).join(', ');
      warnings.push(texts.t('alarm.uninspected', { count: this.uninspected.length, reasons }));
    }
    return { critical, warnings };
  }

  render() {
    const { critical, warnings } = this.messages();
    const lines = [...critical, ...warnings];
    this.banner.hidden = lines.length === 0;
    this.banner.dataset.level = critical.length ? 'critical' : 'warning';
    const text = lines.join('\n');
    if (this.banner.dataset.text !== text) {
      this.banner.dataset.text = text;
      this.banner.replaceChildren(...lines.map((line) => el('p', { text: line })));
    }
  }
}
