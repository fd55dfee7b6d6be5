/**
 * Library entry (`require('mldeploy')`): the functions the commands call, for scripts and
 * tests that drive mldeploy from code instead of the CLI.
 */
export { runTraining } from './model/train-run';
export { loadModelVersion, resolveModelDir, readMetadata } from './model/artifacts';
export type { ModelMetadata } from './model/metadata';
export { initEngine } from './model/engine';
export type { EngineInfo, BackendChoice } from './model/engine';
export { startServer, readPredictionLog } from './serve';
export type { StartServerOptions, RunningServer, PredictionRecord } from './serve';
export { runDrift } from './drift/runner';
export { runRetrain } from './retrain/run';
export type { RetrainOptions, RetrainResult } from './retrain/run';
export { writeDriftOutputs } from './report/drift-outputs';
export { decodeImageToRgb32, toInputTensor, PREPROCESSING } from './preprocess';
export { MldeployError, UsageError, DataError, ModelError } from './errors';
