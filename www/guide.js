// A short guide for a first visit, one line per step; once dismissed it stays away (the
// choice is kept in localStorage, or for this page only where storage is blocked).
import { el } from './dom.js';

export const GUIDE_KEY = 'convscope.guide.dismissed';

const STEPS = [
  'Pick a network under Model (trained weights where the server has them, random ones otherwise).',
  'Classify a sample, your own photo (upload or drop it) or the camera: the top 5 appear.',
  'Pick a node in the Node list or the Architecture table to see its feature maps; hover a unit for its receptive field.',
  'Open the panels under "What each family added" to see what GoogLeNet, ResNet, BatchNorm, ReLU and AlexNet brought.',
  'The address keeps the model, node, input and open panels: copy it to share this view.',
];

function dismissed() {
  try {
    return localStorage.getItem(GUIDE_KEY) === 'true';
  } catch {
    return false;
  }
}

/** Show the guide just before `element` unless it was dismissed before. */
export function showGuide(element) {
  if (dismissed()) return;
  const close = el('button', { type: 'button', 'data-testid': 'guide-dismiss' }, 'Got it, hide this guide');
  const guide = el('aside', { class: 'guide', 'data-testid': 'guide', 'aria-labelledby': 'guide-title' },
    el('h2', { id: 'guide-title' }, 'How to use this page'),
    el('ol', {}, ...STEPS.map((s) => el('li', {}, s))),
    close);
  close.addEventListener('click', () => {
    try {
      localStorage.setItem(GUIDE_KEY, 'true');
    } catch {
      // Storage blocked: the guide goes for this page only.
    }
    guide.remove();
  });
  element.before(guide);
}
