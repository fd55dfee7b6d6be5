/**
 * The dashboard's upload box, part of dashboard.js (client.ts joins it to the monitoring part,
 * whose helpers $, text, pct, fixed and refresh it uses): POST /predict-file, then the image, its
 * class and every probability. On a 401 it asks for the API key, keeps it for the browser
 * session (sessionStorage) and sends it as x-api-key.
 */
export const UPLOAD_SCRIPT = String.raw`
  const KEY_STORE = 'mldeploy-api-key';
  let waitingForKey = null;
  function showPrediction(file, p) {
    const out = $('prediction');
    const result = document.createElement('div');
    result.className = 'result';
    const image = document.createElement('img');
    image.src = URL.createObjectURL(file);
    image.alt = file.name;
    const head = document.createElement('div');
    head.className = 'head';
    const side = document.createElement('div');
    const answer = document.createElement('div');
    answer.className = 'answer';
    answer.id = 'predicted-class';
    answer.textContent = p.predicted_class + ' ' + pct(p.confidence);
    const meta = document.createElement('div');
    meta.className = 'sub';
    meta.textContent = file.name + ' | ' + fixed(p.latency_ms, 1) + ' ms';
    const list = document.createElement('div');
    list.className = 'bar-list';
    side.append(answer, meta);
    head.append(image, side);
    const ranked = Object.entries(p.all_probabilities || {}).sort((a, b) => b[1] - a[1]);
    ranked.forEach(([name, probability], i) => {
      const bar = document.createElement('div');
      bar.className = 'bar' + (i === 0 ? ' top' : '');
      const label = document.createElement('span');
      label.textContent = name;
      const track = document.createElement('div');
      track.className = 'track';
      const fill = document.createElement('div');
      fill.className = 'fill';
      fill.style.width = (probability * 100).toFixed(1) + '%';
      track.append(fill);
      const value = document.createElement('span');
      value.className = 'pct';
      value.textContent = pct(probability);
      bar.append(label, track, value);
      list.append(bar);
    });
    result.append(head, list);
    out.replaceChildren(result);
  }

  function showError(message) {
    const line = document.createElement('p');
    line.className = 'error';
    line.textContent = message;
    $('prediction').replaceChildren(line);
  }

  async function classify(file) {
    const form = new FormData();
    form.append('file', file, file.name);
    const key = sessionStorage.getItem(KEY_STORE);
    text('prediction', 'classifying ' + file.name + ' ...');
    const res = await fetch('predict-file', { method: 'POST', body: form, headers: key ? { 'x-api-key': key } : {} });
    const body = await res.json().catch(() => null);
    if (res.status === 401) {
      waitingForKey = file;
      $('key-form').classList.add('shown');
      $('key').focus();
      return showError(key ? 'the server refused this API key: enter the right one' : 'this server needs an API key (mldeploy serve --api-key): enter it to classify');
    }
    if (!res.ok) return showError((body && body.error && body.error.message) || 'HTTP ' + res.status);
    showPrediction(file, body);
    refresh();
  }

  $('file').addEventListener('change', (event) => {
    const file = event.target.files[0];
    if (file) classify(file);
    event.target.value = '';
  });
  const drop = $('drop');
  drop.addEventListener('dragover', (event) => { event.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (event) => {
    event.preventDefault();
    drop.classList.remove('over');
    const file = event.dataTransfer.files[0];
    if (file) classify(file);
  });
  $('key-button').addEventListener('click', () => { $('key-form').classList.toggle('shown'); $('key').focus(); });
  $('key-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const key = $('key').value.trim();
    if (key) sessionStorage.setItem(KEY_STORE, key);
    else sessionStorage.removeItem(KEY_STORE);
    $('key-form').classList.remove('shown');
    const file = waitingForKey;
    waitingForKey = null;
    if (file) classify(file);
  });
`;
