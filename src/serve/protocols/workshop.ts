/**
 * The workshop protocol: GET /ping, /model-info, /model-info/reference, /model-info/calibration; POST /predict (base64
 * JSON), /predict-file (multipart) and /predict/batch, each answered with the workshop's body. Every route but /ping
 * takes an optional version (`x-model-version` header or `?version=`: a version name, number or label).
 */
import { Router } from 'express';
import { missingProfileParts } from '../../model/metadata';
import { ServeContext } from '../context';
import { HttpError } from '../http-errors';
import { decodeBase64Field, decodeImageField, decodeImageList, requireImageList } from '../inputs';
import { jsonBody, multipartFile, named, objectBody, requireApiKey, shedWhenBusy } from '../middleware';
import { ImagePrediction } from '../predictor';
import { recordPrediction } from '../recording';
import { chooseVersion, chosenModel, versionNotFound, workshopSelector } from '../version-select';

export function workshopRoutes(context: ServeContext): Router {
  const router = Router();
  const auth = requireApiKey(context.apiKey);
  const shed = shedWhenBusy(context.predictor);
  const notFound = (selector: string) => versionNotFound(context, selector);
  const pinned = chooseVersion(context, { selectorOf: workshopSelector, notFound, counts: false });
  const routed = chooseVersion(context, { selectorOf: workshopSelector, notFound, counts: true });

  router.get('/ping', named('ping'), (_req, res) => {
    res.json({ status: 'healthy', model_loaded: context.repository.loaded });
  });

  router.get('/model-info', named('model-info'), pinned, (_req, res) => {
    const model = chosenModel(res);
    const { metadata } = model;
    res.json({
      model_type: metadata.model_type,
      num_classes: metadata.num_classes,
      class_names: metadata.class_names,
      test_accuracy: metadata.test_accuracy,
      input_shape: metadata.input_shape,
      version: metadata.version,
      engine: model.engine,
      created_at: metadata.created_at,
      model_name: context.modelName,
      preprocessing: metadata.preprocessing,
    });
  });

  router.get('/model-info/reference', named('model-info-reference'), pinned, (_req, res) => {
    res.json(chosenModel(res).metadata.reference);
  });

  // drift --url reads the train-time calibration here for its label-free estimates and detector reference.
  router.get('/model-info/calibration', named('model-info-calibration'), pinned, (_req, res) => {
    const { metadata } = chosenModel(res);
    res.json({ calibration: metadata.calibration ?? null, missing: missingProfileParts(metadata) });
  });

  router.post('/predict', named('predict'), auth, routed, shed, jsonBody(), async (req, res) => {
    const bytes = decodeBase64Field(objectBody(req).image_base64, 'image_base64');
    const pixels = await decodeImageField(bytes, 'image_base64');
    const prediction = await context.predictor.predict(pixels, chosenModel(res));
    context.shadow?.afterResponse(res, [prediction]);
    res.json(workshopBody(prediction, recordPrediction(context, res, prediction, bytes)));
  });

  router.post('/predict-file', named('predict-file'), auth, routed, shed, multipartFile(), async (req, res) => {
    if (!req.file) throw new HttpError(400, 'missing_file', 'multipart field "file" is required');
    const bytes = req.file.buffer;
    const pixels = await decodeImageField(bytes, 'file');
    const prediction = await context.predictor.predict(pixels, chosenModel(res));
    context.shadow?.afterResponse(res, [prediction]);
    res.json(workshopBody(prediction, recordPrediction(context, res, prediction, bytes)));
  });

  router.post('/predict/batch', named('predict-batch'), auth, routed, shed, jsonBody(), async (req, res) => {
    // Every image is checked and the request's pixel budget summed before any decoding or model work.
    const decoded = await decodeImageList(requireImageList(objectBody(req).images, 'images'), 'images');
    const predictions = await context.predictor.predictAll(
      decoded.map((d) => d.pixels),
      chosenModel(res),
    );
    context.shadow?.afterResponse(res, predictions);
    res.json({ predictions: predictions.map((p, i) => workshopBody(p, recordPrediction(context, res, p, decoded[i].bytes))) });
  });

  return router;
}

/** The workshop's response body for one image. */
function workshopBody(prediction: ImagePrediction, latencyMs: number): object {
  const classNames = prediction.model.classNames;
  const allProbabilities: Record<string, number> = {};
  classNames.forEach((name, i) => (allProbabilities[name] = prediction.probabilities[i]));
  return {
    predicted_class: classNames[prediction.classIndex],
    confidence: prediction.confidence,
    all_probabilities: allProbabilities,
    model_version: prediction.model.version,
    latency_ms: latencyMs,
  };
}
