// The line's own confusion matrix: what the line flagged against what people found on re-check
// (GET /api/v1/recheck/summary), overall, per model version and per defect type.

import { byId, el } from './dom.js';

const TOTAL_ROWS = [
  ['inspected', 'sum.inspected'],
  ['passed', 'sum.passed'],
  ['flagged', 'sum.flagged'],
  ['confirmed_defective', 'sum.confirmed'],
  ['overkill', 'sum.overkill'],
  ['pending', 'sum.pending'],
  ['escapes', 'sum.escapes'],
];
const MODEL_COLUMNS = ['flagged', 'confirmed_defective', 'overkill', 'pending', 'escapes'];

export class RecheckSummary {
  constructor(client, texts, period) {
    this.client = client;
    this.texts = texts;
    this.period = period; // () => { since: Date }
  }

  async refresh() {
    const { texts } = this;
    const since = this.period().since;
    const params = { since: since.toISOString() };
    const summary = await this.client.get('/api/v1/recheck/summary', params);
    byId('sum-csv').href = this.client.url('/api/v1/recheck/summary.csv', params);
    byId('sum-period').textContent = texts.t('sum.period', { since: texts.dateTime(since) });
    const total = summary.total;
    const checked = total.confirmed_defective + total.overkill;
    const rows = TOTAL_ROWS.map(([field, label]) =>
      el('tr', { dataset: { field } }, [el('th', { scope: 'row', text: texts.t(label) }), el('td', { text: texts.number(total[field]) })]),
    );
    rows.push(
      el('tr', { dataset: { field: 'overkill_share' } }, [
        el('th', { scope: 'row', text: texts.t('sum.overkillShare') }),
        el('td', { text: texts.percent(total.overkill, checked) }),
      ]),
    );
    byId('sum-total').replaceChildren(...rows);

    const head = (labels) => el('thead', {}, el('tr', {}, labels.map((label) => el('th', { scope: 'col', text: label }))));
    byId('sum-models').replaceChildren(
      head([texts.t('models.version'), ...MODEL_COLUMNS.map((field) => texts.t(`sum.col.${field}`))]),
      el(
        'tbody',
        {},
        summary.by_model.map((row) =>
          el('tr', { dataset: { version: row.model_version || '' } }, [
            el('th', { scope: 'row', text: row.model_version || '–' }),
            ...MODEL_COLUMNS.map((field) => el('td', { text: texts.number(row[field]) })),
          ]),
        ),
      ),
    );
    byId('sum-types').replaceChildren(
      head([texts.t('sum.defectType'), texts.t('sum.col.confirmed_defective'), texts.t('sum.col.escapes')]),
      el(
        'tbody',
        {},
        summary.by_defect_type.length
          ? summary.by_defect_type.map((row) =>
              el('tr', { dataset: { type: row.defect_type || '' } }, [
                el('th', { scope: 'row', text: row.defect_type ? texts.label('defect', row.defect_type) : texts.t('sum.untyped') }),
                el('td', { text: texts.number(row.confirmed_defective) }),
                el('td', { text: texts.number(row.escapes) }),
              ]),
            )
          : [el('tr', {}, el('td', { colspan: '3', class: 'muted', text: texts.t('sum.noDefects') }))],
      ),
    );
    return summary;
  }
}
