/**
 * The model repository (KServe/TorchServe pattern): the set of versions this server serves, and
 * who answers a request. A refresh re-reads what to serve (fleet-plan.ts), loads and warms every
 * new version before any request can reach it, swaps the set in one step and retires the versions
 * that left it once their in-flight batches end, so a label change never fails a request.
 */
import { ModelError } from '../errors';
import { ServingBackendChoice } from '../model/onnx/serving';
import { FleetOptions, planFleet, VersionRole } from './fleet-plan';
import { routesToCanary, selects } from './routing';
import { loadServedModel, ServedModel } from './served-model';

export { ServedModel } from './served-model';

export interface ServedVersion {
  model: ServedModel;
  /** Registry labels pointing at it (`latest` included when it is the newest version). */
  labels: string[];
  role: VersionRole;
  /** Its share of unpinned traffic, in percent. */
  trafficPercent: number;
}

export interface ReloadResult {
  previous_version: string;
  version: string;
  /** True when the primary version or the set of served versions changed. */
  changed: boolean;
  /** Every version served after the refresh, the primary first. */
  versions: string[];
}

interface FleetState {
  primary: ServedModel;
  members: Map<string, ServedVersion>;
  canary: { model: ServedModel; percent: number } | null;
}

export class ModelRepository {
  private state: FleetState | undefined;
  private running: Promise<ReloadResult> | undefined;
  private queued: Promise<ReloadResult> | undefined;
  private disposed = false;

  constructor(
    readonly modelPath: string,
    private readonly backend: ServingBackendChoice = 'auto',
    private readonly options: FleetOptions = {},
    /** Labels naming missing versions, versions that failed to load while others serve. */
    private readonly warn: (message: string) => void = () => {},
  ) {}

  /** Loads and warms every version to serve; throws ModelError (one line) when the primary cannot be served. */
  async load(): Promise<ServedModel> {
    await this.reload();
    return this.current;
  }

  /** The version unpinned traffic goes to (outside the canary's share): `stable`, else the newest. */
  get current(): ServedModel {
    if (!this.state) throw new ModelError('no model loaded');
    return this.state.primary;
  }

  get loaded(): boolean {
    return this.state !== undefined;
  }

  /** Every served version, the primary first. */
  versions(): ServedVersion[] {
    if (!this.state) return [];
    const { primary, members } = this.state;
    return [...members.values()].sort((a, b) => Number(b.model === primary) - Number(a.model === primary));
  }

  /**
   * The served version a selector names, if any: a version name, TF Serving number or label, else
   * a role (`stable`, `canary`, `shadow`: e.g. the canary --canary named, which has no label).
   */
  find(selector: string): ServedVersion | undefined {
    const versions = this.versions();
    return versions.find((v) => selects(selector, v.model.version, v.labels)) ?? versions.find((v) => v.role !== 'other' && v.role === selector);
  }

  /** The version for an unpinned request whose routing key is `key` (canary share by hash). */
  route(key: string): ServedModel {
    const { primary, canary } = this.stateOrThrow();
    return canary && routesToCanary(key, canary.percent) ? canary.model : primary;
  }

  /**
   * Re-reads what to serve (labels.json, `latest`, flags) and swaps it in. A version that fails to
   * load or validate is not served (the old primary stays when it is the new primary that failed)
   * and the refresh then throws a ModelError naming it. A refresh asked for while one runs runs
   * once more after it, so the last change on disk is always the one served.
   */
  reload(): Promise<ReloadResult> {
    if (!this.running) {
      this.running = this.refresh().finally(() => {
        this.running = undefined;
      });
      return this.running;
    }
    this.queued ??= this.running
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        return this.reload();
      });
    return this.queued;
  }

  dispose(): void {
    this.disposed = true;
    for (const { model } of this.state?.members.values() ?? []) model.retire();
    this.state = undefined;
  }

  private stateOrThrow(): FleetState {
    if (!this.state) throw new ModelError('no model loaded');
    return this.state;
  }

  private async refresh(): Promise<ReloadResult> {
    const plan = await planFleet(this.modelPath, this.options, this.warn);
    const previous = this.state;
    const failures: string[] = [];
    const members = new Map<string, ServedVersion>();
    for (const planned of plan.versions) {
      let model = previous?.members.get(planned.dir)?.model;
      if (!model) {
        try {
          model = await loadServedModel(planned.dir, this.backend);
        } catch (err) {
          failures.push((err as Error).message);
          continue;
        }
      }
      members.set(planned.dir, { model, labels: planned.labels, role: planned.role, trafficPercent: 0 });
    }
    let primary = members.get(plan.primary);
    if (!primary) {
      const kept = previous && previous.members.get(previous.primary.dir);
      if (!kept) {
        for (const { model } of members.values()) model.retire();
        throw new ModelError(failures.join('; '));
      }
      primary = { ...kept, role: 'stable' };
      members.set(kept.model.dir, primary);
    }
    const canaryMember = plan.canary ? members.get(plan.canary.dir) : undefined;
    const canary = canaryMember && plan.canary ? { model: canaryMember.model, percent: plan.canary.percent } : null;
    primary.trafficPercent = 100 - (canary?.percent ?? 0);
    if (canaryMember && canary) canaryMember.trafficPercent = canary.percent;

    if (this.disposed) {
      // The server stopped while this refresh loaded: nothing may keep what it loaded.
      for (const [dir, { model }] of members) if (!previous?.members.has(dir)) model.retire();
      throw new ModelError('the server stopped during a refresh');
    }
    this.state = { primary: primary.model, members, canary };
    for (const [dir, old] of previous?.members ?? []) if (!members.has(dir)) old.model.retire();
    const result: ReloadResult = {
      previous_version: previous?.primary.version ?? primary.model.version,
      version: primary.model.version,
      changed: previous !== undefined && (previous.primary !== primary.model || !sameKeys(previous.members, members)),
      versions: this.versions().map((v) => v.model.version),
    };
    if (failures.length > 0) {
      if (!previous) this.warn(`not serving: ${failures.join('; ')}`);
      else throw new ModelError(failures.join('; '));
    }
    return result;
  }
}

function sameKeys(a: Map<string, unknown>, b: Map<string, unknown>): boolean {
  return a.size === b.size && [...a.keys()].every((key) => b.has(key));
}
