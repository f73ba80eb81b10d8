// notfound.js — the 404 page: names the missing path and fills the header's user area.
import { initShell } from './ui.js';

const slot = document.getElementById('missing-path');
if (slot && location.pathname !== '/404.html') {
  let path = location.pathname;
  try {
    path = decodeURI(path);
  } catch {
    /* keep it encoded */
  }
  slot.textContent = path.length > 80 ? `${path.slice(0, 77)}…` : path;
}
initShell().catch(() => {});
