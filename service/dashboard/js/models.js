// Engineer view: model versions with upload, activate, rollback, and shadow mode with its
// agreement figures. Shadow controls appear only when the server offers the shadow endpoints.

import { describeError } from './api.js';
import { confirmAction } from './confirm.js';
import { byId, el, report } from './dom.js';

const AGREEMENT_EVERY_MS = 5000;

function isObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export class ModelsPanel {
  constructor(client, texts, { onChanged }) {
    this.client = client;
    this.texts = texts;
    this.onChanged = onChanged;
    this.allowed = false;
    this.rows = [];
    this.agreementVersion = null;
    this.agreementTimer = null;
    this.body = byId('models-body');
    this.message = byId('models-message');
    this.upload = byId('models-upload');
    this.upload.addEventListener('change', () => {
      const [file] = this.upload.files;
      if (file) this.uploadPackage(file);
      this.upload.value = '';
    });
    byId('models-rollback').addEventListener('click', () => this.rollback());
  }

  setAllowed(allowed) {
    this.allowed = allowed;
    this.upload.disabled = !allowed;
    byId('models-upload-label').setAttribute('aria-disabled', String(!allowed));
    byId('models-rollback').disabled = !allowed;
    this.render();
  }

  async refresh() {
    this.rows = await this.client.get('/api/v1/models');
    this.render();
    if (this.agreementVersion && !this.rows.some((row) => row.version === this.agreementVersion && row.shadow)) {
      this.hideAgreement();
    }
  }

  render() {
    const { texts } = this;
    if (!this.rows.length) {
      this.body.replaceChildren(el('tr', {}, el('td', { colspan: '5', class: 'muted', text: texts.t('models.empty') })));
      return;
    }
    const shadowing = this.rows.some((row) => row.shadow);
    this.body.replaceChildren(
      ...[...this.rows].reverse().map((row) => {
        const badges = [];
        if (row.active) badges.push(el('span', { class: 'badge active', text: texts.t('models.stateActive') }));
        if (row.shadow) badges.push(el('span', { class: 'badge shadow', text: texts.t('models.stateShadow') }));
        const actions = [
          el('button', {
            type: 'button',
            text: texts.t('models.activate'),
            disabled: !this.allowed || row.active,
            dataset: { action: 'activate' },
            onclick: () => this.activate(row.version),
          }),
        ];
        if (row.shadow) {
          actions.push(
            el('button', { type: 'button', text: texts.t('models.agreement'), dataset: { action: 'agreement' }, onclick: () => this.showAgreement(row.version) }),
            el('button', {
              type: 'button',
              text: texts.t('models.shadowStop'),
              disabled: !this.allowed,
              dataset: { action: 'shadow-stop' },
              onclick: () => this.stopShadow(),
            }),
          );
        } else {
          actions.push(
            el('button', {
              type: 'button',
              text: texts.t('models.shadowStart'),
              disabled: !this.allowed || row.active || shadowing,
              dataset: { action: 'shadow' },
              onclick: () => this.startShadow(row.version),
            }),
          );
        }
        return el('tr', { dataset: { version: row.version } }, [
          el('th', { scope: 'row' }, [row.version, el('small', { class: 'muted', text: `${row.name} · ${row.architecture}` })]),
          el('td', { class: 'when', text: texts.t('models.by', { time: texts.dateTime(row.uploaded_at), who: row.uploaded_by }) }),
          el('td', { class: 'when', text: row.activated_at ? texts.t('models.by', { time: texts.dateTime(row.activated_at), who: row.activated_by }) : '–' }),
          el('td', {}, badges),
          el('td', {}, el('div', { class: 'buttons' }, actions)),
        ]);
      }),
    );
  }

  async run(action, success) {
    try {
      const result = await action();
      report(this.message, success(result));
    } catch (error) {
      report(this.message, describeError(this.texts, error), 'error');
    }
    await this.refresh();
    this.onChanged();
  }

  uploadPackage(file) {
    report(this.message, this.texts.t('models.uploading', { name: file.name }));
    return this.run(
      () => this.client.request('/api/v1/models', { method: 'POST', body: file, contentType: 'application/zip', timeoutMs: 600000 }),
      (row) => this.texts.t('models.uploaded.ok', { version: row.version }),
    );
  }

  async activate(version) {
    if (!(await confirmAction(this.texts.t('models.confirmTitle'), this.texts.t('models.confirmActivate', { version })))) return;
    await this.run(
      () => this.client.request(`/api/v1/models/${encodeURIComponent(version)}/activate`, { method: 'POST' }),
      (row) => this.texts.t('models.activated.ok', { version: row.version }),
    );
  }

  async rollback() {
    if (!(await confirmAction(this.texts.t('models.confirmTitle'), this.texts.t('models.confirmRollback')))) return;
    await this.run(
      () => this.client.request('/api/v1/models/rollback', { method: 'POST' }),
      (row) => this.texts.t('models.rolledBack.ok', { version: row.version }),
    );
  }

  async startShadow(version) {
    await this.run(
      () => this.client.request(`/api/v1/models/${encodeURIComponent(version)}/shadow`, { method: 'POST' }),
      () => this.texts.t('models.shadowStarted', { version }),
    );
    if (this.rows.some((row) => row.version === version && row.shadow)) this.showAgreement(version);
  }

  async stopShadow() {
    this.hideAgreement();
    await this.run(
      () => this.client.request('/api/v1/models/shadow', { method: 'DELETE' }),
      () => this.texts.t('models.shadowStopped'),
    );
  }

  // -- agreement ----------------------------------------------------------------------------
  async showAgreement(version) {
    this.agreementVersion = version;
    clearInterval(this.agreementTimer);
    this.agreementTimer = setInterval(() => this.loadAgreement(), AGREEMENT_EVERY_MS);
    byId('agreement').hidden = false;
    byId('agreement-title').textContent = this.texts.t('models.agreementTitle', { version });
    await this.loadAgreement();
  }

  hideAgreement() {
    clearInterval(this.agreementTimer);
    this.agreementTimer = null;
    this.agreementVersion = null;
    byId('agreement').hidden = true;
  }

  async loadAgreement() {
    const version = this.agreementVersion;
    if (!version || byId('view-engineer').hidden) return;
    const body = byId('agreement-body');
    try {
      const stats = await this.client.get(`/api/v1/models/${encodeURIComponent(version)}/shadow`);
      if (version === this.agreementVersion) body.replaceChildren(this.renderStats(stats));
    } catch (error) {
      body.replaceChildren(el('p', { class: 'message error', text: describeError(this.texts, error) }));
    }
  }

  /** Agreement figures of any shape: numbers as a list, nested tables (a confusion matrix) as tables. */
  renderStats(stats) {
    const { texts } = this;
    if (!isObject(stats) || !Object.keys(stats).length) return el('p', { class: 'muted', text: texts.t('models.agreementNone') });
    const format = (value, name = '') => {
      if (value === null || value === undefined) return '–';
      if (name === 'agreement' && typeof value === 'number') return texts.percent(value, 1);
      if (name === 'since') return texts.dateTime(value);
      if (typeof value === 'boolean') return texts.t(value ? 'value.yes' : 'value.no');
      if (typeof value === 'number') return texts.number(value, Number.isInteger(value) ? 0 : 3);
      if (isObject(value)) return Object.entries(value).map(([name, inner]) => `${name}: ${format(inner)}`).join(', ');
      if (Array.isArray(value)) return value.map(format).join(', ');
      return String(value);
    };
    const pairs = [];
    const tables = [];
    for (const [name, value] of Object.entries(stats)) {
      const label = texts.label('agreement', name);
      if (isObject(value) && Object.values(value).length && Object.values(value).every(isObject)) {
        const columns = [...new Set(Object.values(value).flatMap((row) => Object.keys(row)))];
        tables.push(
          el('table', { class: 'matrix', dataset: { field: name } }, [
            el('caption', { text: label }),
            el('thead', {}, el('tr', {}, [el('td'), ...columns.map((column) => el('th', { scope: 'col', text: column }))])),
            el(
              'tbody',
              {},
              Object.entries(value).map(([rowName, row]) =>
                el('tr', {}, [el('th', { scope: 'row', text: rowName }), ...columns.map((column) => el('td', { text: format(row[column]) }))]),
              ),
            ),
          ]),
        );
      } else {
        const failed = name === 'load_error' && value; // the shadow process could not load the candidate
        pairs.push(el('div', { dataset: { field: name } }, [el('dt', { text: label }), el('dd', { text: format(value, name), class: failed ? 'message error' : null })]));
      }
    }
    return el('div', {}, [el('dl', { class: 'pairs' }, pairs), ...tables]);
  }
}
