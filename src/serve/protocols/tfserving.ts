/**
 * TensorFlow Serving v1 REST: GET /v1/models/<name> (status of every served version),
 * /v1/models/<name>/metadata (signature) and POST /v1/models/<name>:predict with `instances`
 * (pixel arrays or {"b64"}); the same pinned to one version as TF Serving routes them:
 * /v1/models/<name>/versions/<n>[:predict|/metadata] and /v1/models/<name>/labels/<label>[...].
 */
import { Request, RequestHandler, Router } from 'express';
import { ServeContext } from '../context';
import { HttpError } from '../http-errors';
import { decodeInstanceList, requireImageList } from '../inputs';
import { jsonBody, named, objectBody, requireApiKey, shedWhenBusy } from '../middleware';
import { recordPrediction } from '../recording';
import { ServedVersion } from '../repository';
import { numericVersion } from '../routing';
import { chooseVersion, chosenModel, VersionChoice } from '../version-select';

type Pin = 'versions' | 'labels';

export function tfServingRoutes(context: ServeContext): Router {
  const router = Router();
  const checkName: RequestHandler = (req, _res, next) => {
    requireModelName(context, req.params.name as string);
    next();
  };
  const pinned = (pin: Pin, counts = false) => chooseVersion(context, pinnedChoice(context, pin, counts));

  router.get('/v1/models/:name', named('tfserving-status'), checkName, (_req, res) => {
    res.json({ model_version_status: context.repository.versions().map(versionStatus) });
  });
  router.get('/v1/models/:name/metadata', named('tfserving-metadata'), checkName, (_req, res) => {
    res.json(tfServingMetadata(context, context.repository.current.metadata));
  });
  for (const pin of ['versions', 'labels'] as const) {
    router.get(`/v1/models/:name/${pin}/:selector`, named('tfserving-status'), checkName, pinned(pin), (_req, res) => {
      res.json({ model_version_status: [versionStatus({ model: chosenModel(res) })] });
    });
    router.get(`/v1/models/:name/${pin}/:selector/metadata`, named('tfserving-metadata'), checkName, pinned(pin), (_req, res) => {
      res.json(tfServingMetadata(context, chosenModel(res).metadata));
    });
  }

  const predict: RequestHandler[] = [
    shedWhenBusy(context.predictor),
    jsonBody(),
    async (req, res) => {
      const decoded = await decodeInstanceList(requireImageList(objectBody(req).instances, 'instances'), 'instances');
      const predictions = await context.predictor.predictAll(
        decoded.map((d) => d.pixels),
        chosenModel(res),
      );
      predictions.forEach((p, i) => recordPrediction(context, res, p, decoded[i].bytes));
      context.shadow?.afterResponse(res, predictions);
      res.json({ predictions: predictions.map((p) => Array.from(p.probabilities)) });
    },
  ];
  const auth = requireApiKey(context.apiKey);
  // TF Serving puts the verb after a colon in the last segment: /v1/models/<name>:predict
  router.post('/v1/models/:target', named('tfserving-predict'), auth, predictTarget(context, 'target'), chooseVersion(context, unpinned), ...predict);
  for (const pin of ['versions', 'labels'] as const) {
    router.post(`/v1/models/:name/${pin}/:target`, named('tfserving-predict'), auth, checkName, predictTarget(context, null), pinned(pin, true), ...predict);
  }
  return router;
}

const unpinned: VersionChoice = { selectorOf: () => undefined, notFound: () => new HttpError(404, 'version_not_found', 'no version'), counts: true };

/** Checks the `:predict` verb of the last path segment (and the model name when `nameParam` holds it). */
function predictTarget(context: ServeContext, nameParam: string | null): RequestHandler {
  return (req, _res, next) => {
    const target = req.params.target as string;
    const colon = target.lastIndexOf(':');
    if (colon < 0 || target.slice(colon + 1) !== 'predict') {
      throw new HttpError(404, 'not_found', `unknown TF Serving method in "${target}" (only :predict is served)`);
    }
    if (nameParam) requireModelName(context, target.slice(0, colon));
    next();
  };
}

/** The version a pinned route names: `/versions/<n>` a version number (or name), `/labels/<label>` a label only. */
function pinnedChoice(context: ServeContext, pin: Pin, counts: boolean): VersionChoice {
  const selectorOf = (req: Request) => ((req.params.selector ?? req.params.target) as string).replace(/:predict$/, '');
  if (pin === 'labels') {
    return {
      selectorOf,
      counts,
      find: (label) => context.repository.versions().find((v) => v.labels.includes(label)),
      notFound: (label) => new HttpError(404, 'version_not_found', `Unrecognized servable version label: ${label}`),
    };
  }
  return {
    selectorOf,
    counts,
    find: (n) => context.repository.versions().find((v) => n === numericVersion(v.model.version) || n === v.model.version),
    notFound: (n) => new HttpError(404, 'version_not_found', `Servable not found for request: Specific(${context.modelName}, ${n})`),
  };
}

function requireModelName(context: ServeContext, name: string): void {
  if (name !== context.modelName) throw new HttpError(404, 'model_not_found', `no model named "${name}" (this server serves "${context.modelName}")`);
}

function versionStatus({ model }: Pick<ServedVersion, 'model'>): object {
  return { version: numericVersion(model.version), state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } };
}

function tfServingMetadata(context: ServeContext, metadata: ServedVersion['model']['metadata']): object {
  const dims = (sizes: number[]) => ({ dim: sizes.map((size) => ({ size: String(size), name: '' })), unknown_rank: false });
  return {
    model_spec: { name: context.modelName, signature_name: '', version: numericVersion(metadata.version) },
    metadata: {
      signature_def: {
        signature_def: {
          serving_default: {
            inputs: { images: { dtype: 'DT_FLOAT', tensor_shape: dims([-1, ...metadata.input_shape]), name: 'images' } },
            outputs: { probabilities: { dtype: 'DT_FLOAT', tensor_shape: dims([-1, metadata.num_classes]), name: 'probabilities' } },
            method_name: 'tensorflow/serving/predict',
          },
        },
      },
      class_names: metadata.class_names,
    },
  };
}
