// The views as tabs (arrow keys move between them; #recheck or #engineer in the address opens that view).

import { byId } from './dom.js';

const VIEWS = ['line', 'recheck', 'engineer'];

export class Tabs extends EventTarget {
  constructor() {
    super();
    this.current = null;
    for (const name of VIEWS) {
      const tab = byId(`tab-${name}`);
      tab.addEventListener('click', () => this.select(name));
      tab.addEventListener('keydown', (event) => {
        const offset = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
        if (offset === undefined) return;
        event.preventDefault();
        const next = VIEWS[(VIEWS.indexOf(name) + offset + VIEWS.length) % VIEWS.length];
        this.select(next);
        byId(`tab-${next}`).focus();
      });
    }
    window.addEventListener('hashchange', () => this.select(this.fromHash()));
  }

  fromHash() {
    const name = location.hash.replace('#', '');
    return VIEWS.includes(name) ? name : 'line';
  }

  select(name) {
    if (name === this.current) return;
    this.current = name;
    for (const view of VIEWS) {
      const selected = view === name;
      const tab = byId(`tab-${view}`);
      tab.setAttribute('aria-selected', String(selected));
      tab.tabIndex = selected ? 0 : -1;
      byId(`view-${view}`).hidden = !selected;
    }
    const hash = name === 'line' ? '' : `#${name}`;
    if (location.hash !== hash) history.replaceState(null, '', location.pathname + location.search + hash);
    this.dispatchEvent(new CustomEvent('select', { detail: name }));
  }
}
