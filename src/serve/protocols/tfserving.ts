/**
 * TensorFlow Serving v1 REST: GET /v1/models/<name> (status), /v1/models/<name>/metadata
 * (signature) and POST /v1/models/<name>:predict with `instances` (pixel arrays or {"b64"}).
 */
import { Router } from 'express';
import { ServeContext } from '../context';
import { HttpError } from '../http-errors';
import { decodeInstanceList, requireImageList } from '../inputs';
import { jsonBody, named, objectBody, requireApiKey, shedWhenBusy } from '../middleware';
import { recordPrediction } from '../recording';

export function tfServingRoutes(context: ServeContext): Router {
  const router = Router();

  router.get('/v1/models/:name', named('tfserving-status'), (req, res) => {
    requireModelName(context, req.params.name as string);
    res.json({
      model_version_status: [
        { version: numericVersion(context.repository.current.version), state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } },
      ],
    });
  });

  router.get('/v1/models/:name/metadata', named('tfserving-metadata'), (req, res) => {
    requireModelName(context, req.params.name as string);
    res.json(tfServingMetadata(context));
  });

  // TF Serving puts the verb after a colon in the last segment: /v1/models/<name>:predict
  const requirePredictTarget = (target: string) => {
    const colon = target.lastIndexOf(':');
    if (colon < 0 || target.slice(colon + 1) !== 'predict') {
      throw new HttpError(404, 'not_found', `unknown TF Serving method in "${target}" (only :predict is served)`);
    }
    requireModelName(context, target.slice(0, colon));
  };
  router.post(
    '/v1/models/:target',
    named('tfserving-predict'),
    requireApiKey(context.apiKey),
    (req, _res, next) => {
      requirePredictTarget(req.params.target as string);
      next();
    },
    shedWhenBusy(context.predictor),
    jsonBody(),
    async (req, res) => {
      const decoded = await decodeInstanceList(requireImageList(objectBody(req).instances, 'instances'), 'instances');
      const predictions = await context.predictor.predictAll(decoded.map((d) => d.pixels));
      predictions.forEach((p, i) => recordPrediction(context, res, p, decoded[i].bytes));
      res.json({ predictions: predictions.map((p) => Array.from(p.probabilities)) });
    },
  );

  return router;
}

function requireModelName(context: ServeContext, name: string): void {
  if (name !== context.modelName) throw new HttpError(404, 'model_not_found', `no model named "${name}" (this server serves "${context.modelName}")`);
}

/** TF Serving versions are integers: v3_2025_01_31 -> "3". */
function numericVersion(version: string): string {
  return /^v(\d+)/.exec(version)?.[1] ?? '1';
}

function tfServingMetadata(context: ServeContext): object {
  const { metadata } = context.repository.current;
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
