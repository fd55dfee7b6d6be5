/**
 * `mldeploy models promote <version> --url <server> --require <rule>...`: read the server's live
 * figures (GET /monitoring), check every rule, and label the version stable only if all hold,
 * with the rule results as the audit reason. Nothing is written when a rule fails.
 */
import { MldeployError } from '../errors';
import { setLabel, STABLE_LABEL, type ChangeResult } from '../model/registry/changes';
import { parseLiveFigures, type LiveFigures } from './monitoring-contract';
import { checkPromotion, promotionReason, type PromotionCheck, type PromotionRule } from './promotion-rules';

const FETCH_TIMEOUT_MS = 10_000;

export interface GuardedPromotionOptions {
  modelsDir: string;
  version: string;
  url: string;
  apiKey?: string;
  rules: PromotionRule[];
  minSamples: number;
  reason: string | null;
}

export interface GuardedPromotion extends PromotionCheck {
  url: string;
  promoted: boolean;
  /** The label change, when every rule held. */
  change: ChangeResult | null;
}

export async function guardedPromotion(options: GuardedPromotionOptions): Promise<GuardedPromotion> {
  const live = await fetchLiveFigures(options.url, options.apiKey);
  const check = checkPromotion(options.version, options.rules, live, options.minSamples);
  if (!check.passed) return { ...check, url: options.url, promoted: false, change: null };
  const change = await setLabel(options.modelsDir, options.version, STABLE_LABEL, promotionReason(check, options.reason), 'promote');
  return { ...check, url: options.url, promoted: true, change };
}

/** GET <url>/monitoring, validated; unreachable, refused or unusable answers are MldeployErrors (exit 1). */
export async function fetchLiveFigures(url: string, apiKey?: string): Promise<LiveFigures> {
  const endpoint = `${url.replace(/\/+$/, '')}/monitoring`;
  const where = `GET ${endpoint}`;
  let response: Response;
  try {
    response = await fetch(endpoint, {
      headers: apiKey ? { 'x-api-key': apiKey } : {},
      redirect: 'error',
      signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new MldeployError(`${where} failed (${cause}); is the server running at --url? Nothing was promoted`);
  }
  if (response.status === 401 || response.status === 403) {
    throw new MldeployError(`${where} was refused (HTTP ${response.status}); pass the server's key with --api-key or MLDEPLOY_API_KEY. Nothing was promoted`);
  }
  if (!response.ok) throw new MldeployError(`${where} answered HTTP ${response.status}${response.status === 404 ? ' (started with --no-monitor?)' : ''}; nothing was promoted`);
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    throw new MldeployError(`${where} did not answer JSON; nothing was promoted`);
  }
  return parseLiveFigures(body, where);
}
