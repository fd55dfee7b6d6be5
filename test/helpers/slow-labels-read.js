// Preloaded (-r) into `mldeploy models` child processes by the concurrency test: a read of labels.json
// returns 1 s after the file was read, so concurrent read-modify-write cycles overlap unless the
// registry lock serialises them.
const fs = require('node:fs');

const readFile = fs.promises.readFile;
fs.promises.readFile = async function slowLabelsRead(file, ...rest) {
  if (!String(file).endsWith('labels.json')) return readFile.call(this, file, ...rest);
  const content = await readFile.call(this, file, ...rest).catch((err) => err);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  if (content instanceof Error) throw content;
  return content;
};
