// Who is using the page: the API key (kept in this browser) and the role it grants.

import { ApiError, describeError } from './api.js';
import { byId } from './dom.js';

export class Session extends EventTarget {
  constructor(client, texts) {
    super();
    this.client = client;
    this.texts = texts;
    this.principal = null; // {name, role, keys_required} once known
    this.dialog = byId('key-dialog');
    this.input = byId('key-input');
    this.error = byId('key-error');
    byId('key-button').addEventListener('click', () => this.askKey());
    byId('key-cancel').addEventListener('click', () => this.dialog.close());
    byId('key-forget').addEventListener('click', () => this.useKey(''));
    byId('key-form').addEventListener('submit', (event) => {
      event.preventDefault();
      this.useKey(this.input.value.trim());
    });
  }

  get role() {
    return this.principal ? this.principal.role : null;
  }

  get isEngineer() {
    return this.role === 'engineer';
  }

  /** Ask the server who the current key belongs to; null when a key is needed. */
  async identify() {
    try {
      this.principal = await this.client.get('/api/v1/whoami');
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 401)) throw error;
      this.principal = null;
    }
    this.render();
    return this.principal;
  }

  render() {
    const { texts } = this;
    const who = byId('who');
    const principal = this.principal;
    if (!principal) who.textContent = texts.t('who.signedOut');
    else if (!principal.keys_required) who.textContent = texts.t('who.local');
    else who.textContent = texts.t('who.as', { role: texts.t(`role.${principal.role}`), name: principal.name });
    who.dataset.role = principal ? principal.role : 'none';
    byId('key-button').hidden = Boolean(principal && !principal.keys_required);
  }

  askKey(message = '') {
    this.error.textContent = message;
    this.input.value = '';
    if (!this.dialog.open) this.dialog.showModal();
    this.input.focus();
  }

  async useKey(key) {
    const previous = this.client.key;
    this.client.setKey(key);
    try {
      const principal = await this.identify();
      if (!principal && key) {
        this.client.setKey(previous);
        await this.identify();
        this.error.textContent = this.texts.t('key.unknown');
        return;
      }
      if (!principal) {
        this.error.textContent = this.texts.t('key.required');
        this.dispatchEvent(new CustomEvent('changed'));
        return;
      }
      this.dialog.close();
      this.dispatchEvent(new CustomEvent('changed'));
    } catch (error) {
      this.error.textContent = describeError(this.texts, error);
    }
  }
}
