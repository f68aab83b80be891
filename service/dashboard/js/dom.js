// Small DOM helpers shared by the views.

export const byId = (id) => document.getElementById(id);

/** An element with attributes (`text`, `class`, `dataset`, `on…` handlers, others as attributes). */
export function el(tag, attributes = {}, children = []) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'text') element.textContent = value;
    else if (name === 'class') element.className = value;
    else if (name === 'dataset') Object.assign(element.dataset, value);
    else if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? '' : value);
  }
  for (const child of [].concat(children)) {
    if (child !== null && child !== undefined) element.append(child);
  }
  return element;
}

/** True when a key press belongs to a text field (so single-key shortcuts must not fire). */
export function typing(event) {
  const target = event.target;
  return target instanceof HTMLElement && (target.isContentEditable || ['INPUT', 'SELECT', 'TEXTAREA'].includes(target.tagName));
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Show `text` in a status line, marked ok or error. */
export function report(element, text, kind = 'ok') {
  element.textContent = text;
  element.dataset.kind = kind;
}
