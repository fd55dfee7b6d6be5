/** The one-line notices serve prints after a refresh of the served versions (SIGHUP, /admin/reload, a label change). */
import type { ReloadResult } from './repository';

export function reloadNotice(result: ReloadResult): string {
  const others = result.versions.length > 1 ? ` (versions served: ${result.versions.join(', ')})` : '';
  if (!result.changed) return `reloaded: still ${result.version} (no newer model)${others}`;
  if (result.version === result.previous_version) return `reloaded: still ${result.version}; versions served now: ${result.versions.join(', ')}`;
  return `reloaded: now serving ${result.version} (was ${result.previous_version})${others}`;
}

/** `reload` that also says what serves now whenever the served set changed (a label change, --rollback-if's refresh). */
export function tellingChanges(reload: () => Promise<ReloadResult>, notice: (message: string) => void): () => Promise<ReloadResult> {
  return async () => {
    const result = await reload();
    if (result.changed) notice(reloadNotice(result));
    return result;
  };
}

export function refusedReloadNotice(err: Error): string {
  return `reload refused: ${err.message}; still serving the previous model`;
}
