// The audit trail: who changed what, newest first.

import { byId, el } from './dom.js';

function compact(texts, value) {
  if (value === null || value === undefined) return '–';
  if (typeof value === 'number') return texts.decimal(value);
  if (typeof value === 'object') {
    return Object.entries(value)
      .map(([name, inner]) => `${name} ${compact(texts, inner)}`)
      .join(', ');
  }
  return String(value);
}

export class AuditTrail {
  constructor(client, texts) {
    this.client = client;
    this.texts = texts;
    this.body = byId('audit-body');
  }

  async refresh() {
    const { texts } = this;
    const entries = await this.client.get('/api/v1/audit', { limit: 50 });
    if (!entries.length) {
      this.body.replaceChildren(el('tr', {}, el('td', { colspan: '5', class: 'muted', text: texts.t('audit.empty') })));
      return;
    }
    this.body.replaceChildren(
      ...entries.map((entry) =>
        el('tr', { dataset: { action: entry.action, id: String(entry.id) } }, [
          el('td', { text: texts.dateTime(entry.at) }),
          el('td', { text: entry.actor }),
          el('td', { text: texts.label('audit.action', entry.action) }),
          el('td', { text: entry.target || '–' }),
          el('td', { class: 'change', text: `${compact(texts, entry.old)} → ${compact(texts, entry.new)}` }),
        ]),
      ),
    );
  }
}
