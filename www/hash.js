// The URL's hash keeps the view shareable: #model=…&node=…&input=sample:…&backend=cpu&view=lab&panels=heads,residual
const KEYS = ['model', 'node', 'input', 'backend', 'view', 'panels'];

/** `{model, node, input, backend, view, panels}` from the current hash (missing keys are null). */
export function read() {
  const params = new URLSearchParams(location.hash.slice(1));
  return Object.fromEntries(KEYS.map((k) => [k, params.get(k)]));
}

/** Replace the hash without adding a history entry or firing a reload of the model. */
export function write(values) {
  const params = new URLSearchParams();
  for (const k of KEYS) if (values[k]) params.set(k, values[k]);
  const next = `#${params}`;
  if (next !== location.hash) history.replaceState(null, '', next);
}
