/** Public surface of the serve module (the CLI, drift --model and tests use only these). */
export { createApp } from './app';
export type { ServeContext } from './context';
export { startServer, createServerParts, openServerLog, DEFAULT_PORT, DEFAULT_HOST, DEFAULT_LOG_DIR, DEFAULT_MODEL_NAME, SERVER_LOG_FILE } from './server';
export type { StartServerOptions, RunningServer, ServerParts, ServerLimits } from './server';
export { DEFAULT_LIMITS } from './server';
export { runServe } from './runtime';
export type { ServeOptions, ServeEvents, ReadyInfo } from './lifecycle';
export { MAX_BATCH_IMAGES, MAX_JSON_BYTES, MAX_FILE_BYTES } from './inputs';
export { PREDICTION_LOG_FILE, readPredictionLog } from './prediction-log';
export type { PredictionRecord } from './prediction-log';
export { DEFAULT_BATCHING } from './predictor';
export type { BatchingOptions } from './predictor';
export type { ReloadResult } from './repository';
