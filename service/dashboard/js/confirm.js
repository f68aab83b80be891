// A modal yes/no question; resolves true only when confirmed.

import { byId } from './dom.js';

export function confirmAction(title, body) {
  const dialog = byId('confirm-dialog');
  byId('confirm-title').textContent = title;
  byId('confirm-body').textContent = body;
  dialog.returnValue = '';
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
    dialog.showModal();
    byId('confirm-cancel').focus();
  });
}
