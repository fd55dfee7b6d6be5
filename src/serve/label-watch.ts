/**
 * Follows a models dir: when labels.json or the `latest` link is replaced (`mldeploy models
 * promote`, a train run), the served set is refreshed after a short quiet period, so a burst of
 * changes is one refresh. Each process watches for itself (every cluster worker too): a worker
 * started later reads the same files, and no IPC step can be lost between primary and worker.
 */
import { realpathSync, watch } from 'node:fs';
import { LATEST_LINK } from '../model/artifacts';
import { LABELS_FILE } from '../model/registry/store';
import { isModelsDir } from './fleet-plan';
import { refusedReloadNotice, tellingChanges } from './reload-notice';
import { ReloadResult } from './repository';

export const WATCH_DEBOUNCE_MS = 150;

/** Calls `onChange` once per burst of changes to labels.json or `latest` in `dir`; returns a stop function. */
export function watchModelsDir(dir: string, onChange: () => void, onError: (err: Error) => void, debounceMs = WATCH_DEBOUNCE_MS): () => void {
  let timer: NodeJS.Timeout | undefined;
  const watcher = watch(dir, { persistent: false }, (_event, filename) => {
    // The atomic writes rename a temp file onto labels.json / latest: that rename names the target.
    if (filename !== null && filename !== LABELS_FILE && filename !== LATEST_LINK) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      onChange();
    }, debounceMs);
  });
  watcher.on('error', onError);
  return () => {
    if (timer) clearTimeout(timer);
    watcher.close();
  };
}

/** A server following its models dir: refreshes on change, says what changed (or why it could not). */
export function followModelsDir(dir: string, reload: () => Promise<ReloadResult>, notice: (message: string) => void): () => void {
  const refresh = tellingChanges(reload, notice);
  return watchModelsDir(
    dir,
    () => void refresh().catch((err: Error) => notice(refusedReloadNotice(err))),
    (err) => notice(`stopped watching ${dir} for label changes (${err.message}); SIGHUP or POST /admin/reload still refresh`),
  );
}

/** With --model <models-dir>, label changes refresh the served set; a single version is not followed. */
export function followIfModelsDir(modelPath: string, reload: () => Promise<ReloadResult>, notice: (message: string) => void): () => void {
  return isModelsDir(modelPath) ? followModelsDir(realpathSync(modelPath), reload, notice) : () => {};
}
